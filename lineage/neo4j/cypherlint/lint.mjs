// Lints Cypher statements offline with Neo4j's own parser and semantic
// analyser (@neo4j-cypher/language-support). Used by cypher_lint_test.go.
//
// stdin:  {"schema": {labels, relationshipTypes, propertyKeys}, "statements": [{name, text}]}
// stdout: [{name, diagnostics: [{severity, message, line, column}]}]  (line, column 1-based)
// Exit 0 whenever it ran, whatever it found.
import { readFileSync } from 'node:fs';
import { lintCypherQuery, isNotParamError, parseStatementsStrs, testData } from '@neo4j-cypher/language-support';

const input = JSON.parse(readFileSync(0, 'utf8'));

// The package's signature dump of a Neo4j server gives the built-in
// functions and procedures (db.index.fulltext.queryNodes, …); without it
// the linter cannot tell a misspelt function. APOC and GDS are dropped:
// the neo4j:5-community image we target has neither plugin.
const builtIn = (registry) => ({
  'CYPHER 5': Object.fromEntries(
    Object.entries(registry['CYPHER 5']).filter(([name]) => !/^(apoc|gds)\./.test(name)),
  ),
});
const schema = {
  ...input.schema,
  functions: builtIn(testData.mockSchema.functions),
  procedures: builtIn(testData.mockSchema.procedures),
  defaultLanguage: 'CYPHER 5', // Neo4j 5.26
};

const severities = { 1: 'error', 2: 'warning', 3: 'information', 4: 'hint' };

const results = input.statements.map(({ name, text }) => {
  // Console commands (:param …) are a browser feature the driver rejects.
  const { diagnostics } = lintCypherQuery(text, schema, { consoleCommandsEnabled: false });
  const out = diagnostics
    // Parameters are supplied by the Go code at run time; the linter would
    // flag every $x as undeclared.
    .filter(isNotParamError)
    .map((d) => ({
      severity: severities[d.severity] ?? String(d.severity),
      message: d.message,
      line: d.range.start.line + 1,
      column: d.range.start.character + 1,
    }));
  // The driver runs exactly one statement per call; "a; b" parses here but
  // fails there, and an empty one is a bug of ours.
  const count = parseStatementsStrs(text).length;
  if (count !== 1) {
    out.push({ severity: 'error', message: `${count} statements, the driver takes exactly one`, line: 1, column: 1 });
  }
  return { name, diagnostics: out };
});

process.stdout.write(JSON.stringify(results) + '\n');
