package resolvers

import (
	"context"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// operationLimits is a gqlgen extension that checks an operation's shape
// after parsing and validation and before complexity is computed or any
// resolver runs: selection depth, aliases per selection set, root fields,
// the number of fields once fragments are expanded, and which operation
// types each transport may carry. Fragments are measured once each
// (memoized), so a document that spreads fragments into each other many
// times cannot make the check itself expensive.
type operationLimits struct {
	maxDepth      int
	maxAliases    int
	maxRootFields int
	maxFields     int
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = operationLimits{}

func (operationLimits) ExtensionName() string                   { return "PedigreeOperationLimits" }
func (operationLimits) Validate(graphql.ExecutableSchema) error { return nil }

func (l operationLimits) MutateOperationContext(ctx context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	op := opCtx.Operation
	st := stateFrom(ctx)
	if st != nil {
		st.setOperation(operationName(op), string(op.Operation))
		switch {
		case st.transport == viaWebsocket && op.Operation != ast.Subscription:
			return requestError(CodeOperationNotAllowed, "only subscriptions are served over websockets; send queries and mutations as POST with application/json")
		case st.transport != viaWebsocket && op.Operation == ast.Subscription:
			return requestError(CodeOperationNotAllowed, "subscriptions are served over websockets (graphql-transport-ws) only")
		case st.transport == viaGET && op.Operation != ast.Query:
			return requestError(CodeOperationNotAllowed, "GET requests only allow query operations")
		}
	}

	m := measurer{frags: map[string]*measure{}}
	root := m.set(op.SelectionSet)
	if root.rootFields > l.maxRootFields {
		return requestError(CodeRootFieldLimit, "operation has %d root fields, which exceeds the limit of %d", root.rootFields, l.maxRootFields)
	}
	if root.depth > l.maxDepth {
		return requestError(CodeDepthLimit, "operation has depth %d, which exceeds the limit of %d", root.depth, l.maxDepth)
	}
	if m.maxAliases > l.maxAliases {
		return requestError(CodeAliasLimit, "a selection set has %d aliases, which exceeds the limit of %d", m.maxAliases, l.maxAliases)
	}
	if root.fields > l.maxFields {
		return requestError(CodeFieldLimit, "operation selects %d fields once fragments are expanded, which exceeds the limit of %d", root.fields, l.maxFields)
	}
	return nil
}

// operationName names an operation for the log: its name, or its root
// fields when anonymous.
func operationName(op *ast.OperationDefinition) string {
	if op.Name != "" {
		return op.Name
	}
	var names []string
	for _, s := range op.SelectionSet {
		if f, ok := s.(*ast.Field); ok {
			names = append(names, f.Name)
		}
		if len(names) == 3 {
			names = append(names, "…")
			break
		}
	}
	return strings.Join(names, ",")
}

// measure is the shape of a selection set with its fragments expanded.
type measure struct {
	depth      int // deepest field nesting; introspection subtrees count 1
	fields     int // fields selected, saturating
	rootFields int // fields directly in the set (fragments merged in)
	aliases    int // aliased fields directly in the set (fragments merged in)
}

type measurer struct {
	frags      map[string]*measure
	maxAliases int // most aliases seen in one selection set
}

const saturate = 1 << 30

func (m *measurer) set(set ast.SelectionSet) measure {
	var out measure
	for _, sel := range set {
		var sub measure
		switch s := sel.(type) {
		case *ast.Field:
			out.rootFields++
			out.fields++
			if s.Alias != "" && s.Alias != s.Name {
				out.aliases++
			}
			if strings.HasPrefix(s.Name, "__") {
				// __schema and __type are bounded by gqlparser's
				// MaxIntrospectionDepth rule; __typename is a leaf.
				out.depth = max(out.depth, 1)
				continue
			}
			c := m.set(s.SelectionSet)
			out.depth = max(out.depth, 1+c.depth)
			out.fields = min(out.fields+c.fields, saturate)
			continue
		case *ast.InlineFragment:
			sub = m.set(s.SelectionSet)
		case *ast.FragmentSpread:
			if s.Definition == nil {
				continue
			}
			f, ok := m.frags[s.Name]
			if !ok {
				m.frags[s.Name] = &measure{} // a cycle (refused by validation) ends here
				v := m.set(s.Definition.SelectionSet)
				f = &v
				m.frags[s.Name] = f
			}
			sub = *f
		}
		out.depth = max(out.depth, sub.depth)
		out.fields = min(out.fields+sub.fields, saturate)
		out.rootFields = min(out.rootFields+sub.rootFields, saturate)
		out.aliases = min(out.aliases+sub.aliases, saturate)
	}
	m.maxAliases = max(m.maxAliases, out.aliases)
	return out
}
