// GraphQL operations of the lineage explorer, the impact view and the search box.

export const SEARCH_QUERY = `query Search($query: String!, $kinds: [NodeKind!], $first: Int) {
  search(query: $query, kinds: $kinds, first: $first) { id kind label }
}`;

export const LINEAGE_QUERY = `query Lineage($of: ID!, $direction: Direction, $depth: Int, $limit: Int) {
  lineage(of: $of, direction: $direction, depth: $depth, limit: $limit) {
    truncated
    nodes { depth node { id kind label } }
    edges { from to type role }
  }
}`;

export const PATH_QUERY = `query LineagePath($from: ID!, $to: ID!) {
  lineagePath(from: $from, to: $to) {
    from to type role
    fromNode { id kind label }
    toNode { id kind label }
  }
}`;

// The details of any node: what every kind has, then per type with inline
// fragments. Run.status and Deployment.status are different enums, so aliased.
export const NODE_QUERY = `query NodeDetails($id: ID!) {
  node(id: $id) {
    id kind label description createdAt
    tags { key value }
    ... on Dataset { name }
    ... on DatasetVersion { datasetName version uri digest format rows schema { name type } }
    ... on Split { name datasetVersionId digest rows fraction strategy seed }
    ... on FeatureSet { name }
    ... on FeatureSetVersion { featureSetName version digest transformation features { name type } }
    ... on CodeVersion { repository commit branch path dirty diffDigest }
    ... on Environment { digest language languageVersion imageDigest packages { name version } }
    ... on Experiment { name }
    ... on Pipeline { name }
    ... on Run {
      name experimentName pipelineName runStatus: status startedAt endedAt
      params { key value }
      metrics { key last }
    }
    ... on Model { name }
    ... on ModelVersion { modelName version stage aliases framework artifactUri artifactDigest runId }
    ... on Artifact { name version type uri digest mediaType }
    ... on Deployment { modelName version environment deploymentStatus: status endpoint message }
  }
}`;

export const IMPACT_QUERY = `query Impact($of: ID!) {
  impact(of: $of) {
    of { id kind label }
    total
    truncated
    runs { id label }
    data { id kind label }
    modelVersions { stage versions { id label modelName version stage aliases } }
    deployments { id label environment status endpoint modelVersion { id label stage } }
  }
}`;
