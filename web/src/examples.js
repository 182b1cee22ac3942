// Example operations shown as GraphiQL's default tabs on a first visit.
// They run against the demo data as they are; keep them in step with
// schema.graphqls when the schema changes. GraphiQL names each tab after
// the operation, so the comment line says what the example is for.

export const examples = [
  {
    title: 'Models and stages',
    query: `query Models {
  models(first: 10) {
    edges {
      node {
        id
        name
        versions(first: 10) {
          edges {
            node {
              version
              stage
              aliases
            }
          }
        }
      }
    }
  }
}`,
  },
  {
    title: 'Lineage of Production',
    query: `query Lineage {
  modelVersion(model: "churn", stage: PRODUCTION) {
    id
    version
  }
  lineage(of: "modelversion:churn/1", direction: UPSTREAM, depth: 5) {
    truncated
    nodes {
      depth
      node {
        id
        __typename
      }
    }
    edges {
      from
      to
      type
      role
    }
  }
}`,
  },
  {
    title: 'Impact of a dataset version',
    query: `query Impact {
  impact(of: "datasetversion:customers/1") {
    modelVersions {
      stage
      versions {
        id
        version
      }
    }
    runs {
      id
    }
  }
}`,
  },
  {
    title: 'Compare runs',
    query: `query Compare {
  runs(first: 2, orderBy: ["attributes.start_time DESC"]) {
    edges {
      node {
        id
        name
        params {
          key
          value
        }
        metrics {
          key
          last
        }
      }
    }
  }
}`,
  },
  {
    title: 'Watch registry events',
    query: `subscription Events {
  modelEvents(model: "churn") {
    seq
    type
    model
    version
    payload
  }
}`,
  },
];

// defaultTabs turns the examples into GraphiQL tab definitions, each query
// preceded by a comment carrying its title.
export function defaultTabs() {
  return examples.map((e) => ({ query: `# ${e.title}\n${e.query}\n` }));
}
