// The GraphQL operations of the Runs and Compare views (also what their
// "Open in GraphiQL" links prefill).

export const EXPERIMENTS = `query Experiments {
  experiments(first: 1000) {
    nodes { id name }
  }
}`;

export const RUNS = `query Runs($filter: String, $experiment: String, $orderBy: [String!], $first: Int, $after: String) {
  runs(filter: $filter, experiment: $experiment, orderBy: $orderBy, first: $first, after: $after) {
    nodes {
      id
      name
      experimentName
      status
      startedAt
      paramMap
      metricMap
    }
    pageInfo { hasNextPage endCursor }
  }
}`;

export const COMPARE = `query CompareRuns($ids: [ID!]!) {
  compareRuns(ids: $ids) {
    runs { id name experimentName status startedAt }
    params { key values differs }
    metrics {
      key
      values { last lastStep min max count }
      bestIndex
      bestRunId
      higherIsBetter
      differs
    }
  }
}`;
