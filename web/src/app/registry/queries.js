// GraphQL operations of the registry pages (public API only).

export const MODELS = `query Models {
  models(first: 200) {
    nodes {
      id
      name
      description
      updatedAt
      latestVersions { version stage }
      aliases { alias version }
      versions(first: 1) { nodes { version stage createdAt } }
    }
    pageInfo { hasNextPage }
  }
}`;

export const MODEL = `query Model($name: String!) {
  model(name: $name) {
    id
    name
    description
    updatedAt
    autoRollback
    aliases { alias version }
    versions(first: 200) {
      nodes {
        id
        version
        label
        stage
        aliases
        createdAt
        framework
        runId
        run { id label status }
        transitions { from to actor reason at rollback }
        deployments { id environment status decommissionRequested endpoint message updatedAt }
      }
      pageInfo { hasNextPage }
    }
  }
}`;

export const VERSION = `query ModelVersion($model: String!, $version: Int!) {
  modelVersion(model: $model, version: $version) {
    id
    label
    version
    stage
    description
    framework
    artifact { uri digest size verified downloadUrl }
    run { id label status experimentName startedAt endedAt }
    reproduction {
      code { id label }
      environment { id label }
      inputs { role digest node { id kind label } }
    }
  }
}`;

export const DIFF = `query DiffModelVersions($model: String!, $from: Int!, $to: Int!) {
  diffModelVersions(model: $model, from: $from, to: $to) {
    fromRun { id label }
    toRun { id label }
    data { kind before { id label } after { id label } }
    features { kind before { id label } after { id label } }
    code { kind before { id label } after { id label } }
    environment { name kind before after }
    params { key kind before after }
    metrics { key before after delta }
  }
}`;

export const TRANSITION = `mutation TransitionModelVersionStage($input: TransitionModelVersionStageInput!) {
  transitionModelVersionStage(input: $input) { id version stage }
}`;

export const ROLLBACK = `mutation RollbackModel($input: RollbackModelInput!) {
  rollbackModel(input: $input) { id version stage }
}`;

export const CURRENT_STAGE = `query CurrentStage($model: String!, $version: Int!) {
  modelVersion(model: $model, version: $version) { version stage }
}`;

export const CURRENT_PRODUCTION = `query CurrentProduction($model: String!) {
  model(name: $model) { version(stage: PRODUCTION) { version } }
}`;
