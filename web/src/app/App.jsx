// The shell: navigation, the search box, and the view the hash names.
import { useRoute, href } from './router.js';
import { Home } from './pages/Home.jsx';
import { LineagePage } from './pages/LineagePage.jsx';
import { ImpactPage } from './pages/ImpactPage.jsx';
import { RunsPage } from './pages/RunsPage.jsx';
import { ComparePage } from './pages/ComparePage.jsx';
import { RegistryPage } from './pages/RegistryPage.jsx';
import { ModelPage } from './pages/ModelPage.jsx';

const views = {
  '': Home,
  lineage: LineagePage,
  impact: ImpactPage,
  runs: RunsPage,
  compare: ComparePage,
  models: RegistryPage,
  model: ModelPage,
};

const nav = [
  ['lineage', 'Lineage'],
  ['runs', 'Runs'],
  ['models', 'Registry'],
];

export function App() {
  const route = useRoute();
  const View = views[route.view];
  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href="#/">
          Pedigree
        </a>
        <nav aria-label="Main">
          {nav.map(([view, label]) => (
            <a key={view} href={href(view)} aria-current={route.view === view ? 'page' : undefined}>
              {label}
            </a>
          ))}
          <a href="/graphiql">GraphiQL</a>
        </nav>
      </header>
      <main>{View ? <View route={route} /> : <p role="alert">No such page: {route.view}</p>}</main>
    </div>
  );
}
