package neo4j

// lintCorpus is every statement the store can send: the fixed ones and
// samples of those built at run time (runs filters, path bounds).
func lintCorpus() []statement {
	return append(append([]statement{}, statements...), runsLintSamples()...)
}
