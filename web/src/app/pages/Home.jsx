// Home: search any node and open its lineage.
import { href, navigate } from '../router.js';
import { SearchBox } from '../lineage/SearchBox.jsx';
import '../lineage/lineage.css';

export function Home() {
  return (
    <section className="home">
      <h1>Pedigree</h1>
      <p>Where every model came from, and what depends on every dataset.</p>
      <SearchBox label="Search datasets, runs, models and more" onChoose={(n) => navigate('lineage', n.id)} autoFocus />
      <h2>Go to</h2>
      <ul className="home-links">
        <li>
          <a href={href('models')}>Model registry</a> — models, versions and stages
        </li>
        <li>
          <a href={href('runs')}>Runs</a> — experiments, filter and compare runs
        </li>
        <li>
          <a href={href('lineage')}>Lineage explorer</a> — the graph around any node
        </li>
        <li>
          <a href={href('impact')}>Impact</a> — what a bad dataset version affects
        </li>
        <li>
          <a href="/graphiql">GraphiQL</a> — the API, with docs
        </li>
      </ul>
    </section>
  );
}
