package lineage

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Metric names that are better when lower; every other metric is better higher.
var lowerIsBetter = regexp.MustCompile(`(?i)(loss|err|mse|mae|rmse|mape|perplexity|latency|duration|time|cost|fpr|fnr)`)

// runInputs returns the USED edges and code version of runs.
func runLinks(tx ReadTx, runs []ID) (map[ID][]Edge, map[ID]ID, error) {
	used, code := map[ID][]Edge{}, map[ID]ID{}
	for _, id := range runs {
		edges, err := tx.Edges(id, Upstream, EdgeUsed, EdgeRanCode)
		if err != nil {
			return nil, nil, err
		}
		for _, e := range edges {
			if e.Type == EdgeRanCode {
				code[id] = e.To
			} else {
				used[id] = append(used[id], e)
			}
		}
	}
	return used, code, nil
}

// CompareRuns puts up to MaxCompareRuns runs side by side: params with a
// differs flag, metric summaries with the best run, inputs by role and code.
func (s *Service) CompareRuns(ctx context.Context, ids []ID) (*RunComparison, error) {
	if len(ids) == 0 || len(ids) > MaxCompareRuns {
		return nil, Invalid("ids", "must name between 1 and %d runs", MaxCompareRuns)
	}
	if err := checkIDs("ids", ids); err != nil {
		return nil, err
	}
	for i, id := range ids {
		if slices.Contains(ids[:i], id) {
			return nil, Invalid(indexed("ids", i), "%s is listed twice", id)
		}
	}
	out := &RunComparison{}
	err := s.view(ctx, func(tx ReadTx) error {
		for i, id := range ids {
			field := indexed("ids", i)
			if id.Kind() != KindRun {
				return Invalid(field, "%s is not a run", id)
			}
			run, err := get[*Run](tx, id)
			if ErrorCode(err) == ENOTFOUND {
				return &Error{Code: ENOTFOUND, Field: field, Message: fmt.Sprintf("%s: %s not found", field, id)}
			} else if err != nil {
				return err
			}
			out.Runs = append(out.Runs, run)
		}
		data, err := tx.RunData(ids)
		if err != nil {
			return err
		}
		used, code, err := runLinks(tx, ids)
		if err != nil {
			return err
		}
		out.Params = paramRows(ids, data)
		out.Metrics = metricRows(ids, data)
		out.Inputs = inputRows(ids, used)
		codes, err := tx.Nodes(mapValues(code))
		if err != nil {
			return err
		}
		byID := map[ID]*CodeVersion{}
		for _, n := range codes {
			if e, err := Decode(n); err == nil {
				byID[n.ID] = e.(*CodeVersion)
			}
		}
		row := CodeRow{Values: make([]*CodeVersion, len(ids))}
		for i, id := range ids {
			row.Values[i] = byID[code[id]]
			row.Differs = row.Differs || code[id] != code[ids[0]]
		}
		out.Code = []CodeRow{row}
		return nil
	})
	return out, err
}

func mapValues(m map[ID]ID) []ID {
	var out []ID
	for _, v := range m {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func paramRows(ids []ID, data map[ID]*RunData) []ParamRow {
	keys := map[string]bool{}
	for _, d := range data {
		for k := range d.Params {
			keys[k] = true
		}
	}
	var rows []ParamRow
	for _, k := range sortedKeys(keys) {
		row := ParamRow{Key: k, Values: make([]*string, len(ids))}
		for i, id := range ids {
			if v, ok := data[id].Params[k]; ok {
				row.Values[i] = &v
			}
			row.Differs = row.Differs || !equalPtr(row.Values[i], row.Values[0])
		}
		rows = append(rows, row)
	}
	return rows
}

func metricRows(ids []ID, data map[ID]*RunData) []MetricRow {
	byKey := map[string][]*MetricSummary{}
	for i, id := range ids {
		for j := range data[id].Metrics {
			m := &data[id].Metrics[j]
			if byKey[m.Key] == nil {
				byKey[m.Key] = make([]*MetricSummary, len(ids))
			}
			byKey[m.Key][i] = m
		}
	}
	var rows []MetricRow
	for _, k := range sortedKeys(byKey) {
		row := MetricRow{Key: k, Values: byKey[k], Best: -1, HigherIsBetter: !lowerIsBetter.MatchString(k)}
		for i, m := range row.Values {
			if m == nil {
				row.Differs = true
				continue
			}
			if first := row.Values[0]; first == nil || first.Last != m.Last {
				row.Differs = true
			}
			if row.Best < 0 || (row.HigherIsBetter && m.Last > row.Values[row.Best].Last) ||
				(!row.HigherIsBetter && m.Last < row.Values[row.Best].Last) {
				row.Best = i
			}
		}
		rows = append(rows, row)
	}
	return rows
}

func inputRows(ids []ID, used map[ID][]Edge) []InputRow {
	roles := map[string]bool{}
	for _, edges := range used {
		for _, e := range edges {
			roles[e.Role] = true
		}
	}
	var rows []InputRow
	for _, role := range sortedKeys(roles) {
		row := InputRow{Role: role, Values: make([][]ID, len(ids))}
		for i, id := range ids {
			for _, e := range used[id] {
				if e.Role == role {
					row.Values[i] = append(row.Values[i], e.To)
				}
			}
			slices.Sort(row.Values[i])
			row.Differs = row.Differs || !slices.Equal(row.Values[i], row.Values[0])
		}
		rows = append(rows, row)
	}
	return rows
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func equalPtr[T comparable](a, b *T) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// upstreamOf is a model version's provenance: its run with the run's data,
// and the entities of its upstream closure.
type upstreamOf struct {
	mv    *ModelVersion
	run   *Run
	data  *RunData
	nodes []Entity
	roles map[ID]string // direct inputs of the run and their roles
}

func (s *Service) upstream(ctx context.Context, mv *ModelVersion) (*upstreamOf, error) {
	sub, err := s.store.Traverse(ctx, TraversalQuery{Of: mv.ID, Direction: Upstream, Depth: MaxDepth, Limit: MaxLimit})
	if err != nil {
		return nil, err
	}
	ids := make([]ID, len(sub.Nodes))
	for i, h := range sub.Nodes {
		ids[i] = h.ID
	}
	up := &upstreamOf{mv: mv, roles: map[ID]string{}}
	if up.nodes, err = s.Nodes(ctx, ids); err != nil {
		return nil, err
	}
	err = s.view(ctx, func(tx ReadTx) error {
		run, err := get[*Run](tx, mv.Run)
		if err != nil {
			return err
		}
		up.run = run
		data, err := tx.RunData([]ID{run.ID})
		if err != nil {
			return err
		}
		up.data = data[run.ID]
		used, _, err := runLinks(tx, []ID{run.ID})
		for _, e := range used[run.ID] {
			up.roles[e.To] = e.Role
		}
		return err
	})
	return up, err
}

// logicalKey pairs entities of two lineages: two versions of one dataset,
// two commits of one repository, are a change rather than an add and a remove.
func logicalKey(e Entity) string {
	switch e := e.(type) {
	case *DatasetVersion:
		return "dataset:" + strings.ToLower(e.Dataset)
	case *Split:
		ds := strings.SplitN(e.DatasetVersion.Key(), "/", 2)[0]
		return "split:" + ds + "/" + strings.ToLower(e.Name)
	case *FeatureSetVersion:
		return "featureset:" + strings.ToLower(e.FeatureSet)
	case *CodeVersion:
		return "code:" + e.Repository + ":" + e.Path
	case *Environment:
		return "environment"
	}
	return string(EntityID(e))
}

func entityChanges(before, after []Entity, kinds ...Kind) []Change {
	pick := func(list []Entity) map[string][]Entity {
		m := map[string][]Entity{}
		for _, e := range list {
			if e != nil && slices.Contains(kinds, e.Kind()) {
				m[logicalKey(e)] = append(m[logicalKey(e)], e)
			}
		}
		return m
	}
	b, a := pick(before), pick(after)
	keys := map[string]bool{}
	for k := range b {
		keys[k] = true
	}
	for k := range a {
		keys[k] = true
	}
	var out []Change
	for _, k := range sortedKeys(keys) {
		bs, as := b[k], a[k]
		same := func(x Entity, list []Entity) bool {
			return slices.ContainsFunc(list, func(y Entity) bool { return EntityID(x) == EntityID(y) })
		}
		bs = slices.DeleteFunc(slices.Clone(bs), func(x Entity) bool { return same(x, as) })
		as = slices.DeleteFunc(slices.Clone(as), func(x Entity) bool { return same(x, b[k]) })
		for len(bs) > 0 && len(as) > 0 {
			out = append(out, Change{Kind: Changed, Before: bs[0], After: as[0]})
			bs, as = bs[1:], as[1:]
		}
		for _, x := range bs {
			out = append(out, Change{Kind: Removed, Before: x})
		}
		for _, x := range as {
			out = append(out, Change{Kind: Added, After: x})
		}
	}
	return out
}

func packageChanges(before, after []Entity) []PackageChange {
	pkgs := func(list []Entity) map[string]string {
		m := map[string]string{}
		for _, e := range list {
			if env, ok := e.(*Environment); ok {
				for _, p := range env.Packages {
					m[p.Name] = p.Version
				}
				if env.LanguageVersion != "" {
					m[env.Language] = env.LanguageVersion
				}
			}
		}
		return m
	}
	b, a := pkgs(before), pkgs(after)
	return diffMaps(b, a, func(k string, kind ChangeKind, bv, av *string) PackageChange {
		pc := PackageChange{Name: k, Kind: kind}
		if bv != nil {
			pc.Before = *bv
		}
		if av != nil {
			pc.After = *av
		}
		return pc
	})
}

// diffMaps reports the keys added, removed or changed between two maps.
func diffMaps[T any](before, after map[string]string, mk func(k string, kind ChangeKind, b, a *string) T) []T {
	keys := map[string]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	var out []T
	for _, k := range sortedKeys(keys) {
		bv, bok := before[k]
		av, aok := after[k]
		switch {
		case bok && aok && bv != av:
			out = append(out, mk(k, Changed, &bv, &av))
		case bok && !aok:
			out = append(out, mk(k, Removed, &bv, nil))
		case !bok && aok:
			out = append(out, mk(k, Added, nil, &av))
		}
	}
	return out
}

// DiffModelVersions tells what changed between two versions' upstream
// lineage: data and splits, features, code, environment packages, params and
// metric deltas.
func (s *Service) DiffModelVersions(ctx context.Context, model string, from, to int64) (*ModelVersionDiff, error) {
	var a, b *ModelVersion
	err := s.view(ctx, func(tx ReadTx) error {
		var err error
		if a, err = getVersion(tx, model, from); err != nil {
			return relabel(err, "from")
		}
		b, err = getVersion(tx, model, to)
		return relabel(err, "to")
	})
	if err != nil {
		return nil, err
	}
	ua, err := s.upstream(ctx, a)
	if err != nil {
		return nil, err
	}
	ub, err := s.upstream(ctx, b)
	if err != nil {
		return nil, err
	}
	d := &ModelVersionDiff{From: a, To: b, Runs: [2]*Run{ua.run, ub.run}}
	d.Data = entityChanges(ua.nodes, ub.nodes, KindDatasetVersion, KindSplit)
	d.Features = entityChanges(ua.nodes, ub.nodes, KindFeatureSetVersion)
	d.Code = entityChanges(ua.nodes, ub.nodes, KindCodeVersion)
	d.Environment = packageChanges(ua.nodes, ub.nodes)
	d.Params = diffMaps(ua.data.Params, ub.data.Params, func(k string, kind ChangeKind, bv, av *string) ValueChange {
		return ValueChange{Key: k, Kind: kind, Before: bv, After: av}
	})
	last := func(ms []MetricSummary) map[string]float64 {
		m := map[string]float64{}
		for _, x := range ms {
			m[x.Key] = x.Last
		}
		return m
	}
	ma, mb := last(ua.data.Metrics), last(ub.data.Metrics)
	keys := map[string]bool{}
	for k := range ma {
		keys[k] = true
	}
	for k := range mb {
		keys[k] = true
	}
	for _, k := range sortedKeys(keys) {
		md := MetricDelta{Key: k}
		if v, ok := ma[k]; ok {
			md.Before = &v
		}
		if v, ok := mb[k]; ok {
			md.After = &v
		}
		if md.Before != nil && md.After != nil {
			delta := *md.After - *md.Before
			md.Delta = &delta
		}
		d.Metrics = append(d.Metrics, md)
	}
	return d, nil
}

// relabel names the argument a version lookup failed for.
func relabel(err error, field string) error {
	if ErrorCode(err) != ENOTFOUND || ErrorField(err) != "version" {
		return err
	}
	return &Error{Code: ENOTFOUND, Field: field, Message: field + ": " + strings.TrimPrefix(ErrorMessage(err), "version: ")}
}

var seedKey = regexp.MustCompile(`(?i)seed`)

// Reproduction gathers what is needed to rebuild a model version: code,
// environment, every upstream input with its digest, params and seeds.
func (s *Service) Reproduction(ctx context.Context, version ID) (*Reproduction, error) {
	e, err := s.Node(ctx, version)
	if err != nil {
		return nil, err
	}
	mv, ok := e.(*ModelVersion)
	if !ok {
		return nil, Invalid("id", "%s is not a model version", version)
	}
	up, err := s.upstream(ctx, mv)
	if err != nil {
		return nil, err
	}
	r := &Reproduction{ModelVersion: mv, Run: up.run, Params: up.data.Params, Seeds: map[string]int64{}}
	for _, n := range up.nodes {
		var digest string
		switch n := n.(type) {
		case *CodeVersion:
			if r.Code == nil {
				r.Code = n
			}
			continue
		case *Environment:
			if r.Environment == nil {
				r.Environment = n
			}
			continue
		case *DatasetVersion:
			digest = n.Digest
		case *Split:
			digest = n.Digest
			if n.Seed != nil {
				r.Seeds[fmt.Sprintf("split:%s", n.ID.Key())] = *n.Seed
			}
		case *FeatureSetVersion:
			digest = n.Digest
		case *Artifact:
			digest = n.Digest
		case *ModelVersion:
			if n.ID == mv.ID {
				continue
			}
			digest = n.ArtifactDigest
		default:
			continue
		}
		r.Inputs = append(r.Inputs, ReproductionInput{Role: up.roles[EntityID(n)], Node: n, Digest: digest})
	}
	// The code and environment of the producing run itself win over any
	// found further upstream.
	err = s.view(ctx, func(tx ReadTx) error {
		edges, err := tx.Edges(up.run.ID, Upstream, EdgeRanCode, EdgeRanIn)
		for _, e := range edges {
			n, err := tx.Node(e.To)
			if err != nil {
				return err
			}
			ent, err := Decode(n)
			if err != nil {
				return err
			}
			switch ent := ent.(type) {
			case *CodeVersion:
				r.Code = ent
			case *Environment:
				r.Environment = ent
			}
		}
		return err
	})
	for k, v := range r.Params {
		if seedKey.MatchString(k) {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				r.Seeds["params."+k] = n
			}
		}
	}
	return r, err
}
