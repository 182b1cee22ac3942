package resolvers

// graph/ is generated from ../schema.graphqls and ../gqlgen.yml; gqlgen finds
// gqlgen.yml in a parent directory and runs from there.
//go:generate go tool gqlgen generate
