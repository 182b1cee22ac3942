// Type-ahead over Query.search with ARIA 1.2 combobox semantics: arrows
// move through the results, Enter chooses, Escape closes.
import { useEffect, useId, useRef, useState } from 'react';
import { gql } from '../api.js';
import { SEARCH_QUERY } from './queries.js';
import { kindLabel, kindStyle } from './graph.js';

export function SearchBox({ onChoose, label = 'Search nodes', kinds, delay = 200, placeholder = 'dataset, run, model…', autoFocus }) {
  const [text, setText] = useState('');
  const [results, setResults] = useState([]);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const id = useId();
  const listId = `${id}-list`;
  const kindsKey = JSON.stringify(kinds || null);
  const latest = useRef(0);

  useEffect(() => {
    const q = text.trim();
    if (!q) {
      setResults([]);
      setOpen(false);
      setBusy(false);
      return undefined;
    }
    const n = ++latest.current;
    const ctrl = new AbortController();
    setBusy(true);
    const timer = setTimeout(() => {
      const ks = JSON.parse(kindsKey);
      gql(SEARCH_QUERY, { query: q, first: 12, ...(ks ? { kinds: ks } : {}) }, { signal: ctrl.signal }).then(
        (data) => {
          if (n !== latest.current) return;
          setResults(data.search || []);
          setError(null);
          setOpen(true);
          setActive(-1);
          setBusy(false);
        },
        (err) => {
          if (n !== latest.current || err.name === 'AbortError') return;
          setResults([]);
          setError(err);
          setOpen(true);
          setBusy(false);
        },
      );
    }, delay);
    return () => {
      clearTimeout(timer);
      ctrl.abort();
    };
  }, [text, kindsKey, delay]);

  function choose(node) {
    setOpen(false);
    setActive(-1);
    onChoose?.(node);
  }

  function onKeyDown(ev) {
    if (ev.key === 'ArrowDown') {
      ev.preventDefault();
      if (!open && results.length) setOpen(true);
      setActive((a) => (results.length ? (a + 1) % results.length : -1));
    } else if (ev.key === 'ArrowUp') {
      ev.preventDefault();
      setActive((a) => (results.length ? (a <= 0 ? results.length - 1 : a - 1) : -1));
    } else if (ev.key === 'Enter') {
      if (open && active >= 0 && results[active]) {
        ev.preventDefault();
        choose(results[active]);
      } else if (open && results.length === 1) {
        ev.preventDefault();
        choose(results[0]);
      }
    } else if (ev.key === 'Escape') {
      if (open) {
        ev.preventDefault();
        setOpen(false);
        setActive(-1);
      }
    }
  }

  const expanded = open && (results.length > 0 || !!error || !busy);
  return (
    <div className="searchbox">
      <label htmlFor={`${id}-input`}>{label}</label>
      <input
        id={`${id}-input`}
        type="search"
        role="combobox"
        aria-autocomplete="list"
        aria-expanded={expanded}
        aria-controls={listId}
        aria-activedescendant={expanded && active >= 0 ? `${id}-opt-${active}` : undefined}
        autoComplete="off"
        spellCheck={false}
        placeholder={placeholder}
        value={text}
        autoFocus={autoFocus}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKeyDown}
        onBlur={() => setOpen(false)}
        onFocus={() => text.trim() && (results.length || error) && setOpen(true)}
      />
      <ul id={listId} role="listbox" aria-label={`${label} results`} className="searchbox-list" hidden={!expanded}>
        {expanded && error ? (
          <li className="searchbox-empty" role="presentation">
            {error.code}: {error.message}
          </li>
        ) : null}
        {expanded && !error && results.length === 0 ? (
          <li className="searchbox-empty" role="presentation">
            No matches
          </li>
        ) : null}
        {expanded
          ? results.map((r, i) => (
              <li
                key={r.id}
                id={`${id}-opt-${i}`}
                role="option"
                aria-selected={i === active}
                className={i === active ? 'active' : undefined}
                onMouseDown={(e) => {
                  e.preventDefault(); // keep focus in the input
                  choose(r);
                }}
                onMouseEnter={() => setActive(i)}
              >
                <span className="kind-dot" style={{ background: kindStyle(r.kind).color }} aria-hidden="true" />
                <span className="searchbox-label">{r.label}</span>
                <span className="searchbox-kind">{kindLabel(r.kind)}</span>
                <span className="searchbox-id">{r.id}</span>
              </li>
            ))
          : null}
      </ul>
      <span className="sr-only" role="status" aria-live="polite">
        {expanded && !error ? `${results.length} result${results.length === 1 ? '' : 's'}` : ''}
      </span>
    </div>
  );
}
