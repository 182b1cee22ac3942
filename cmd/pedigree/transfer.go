package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pedigree-ml/pedigree/lineage"
	"github.com/pedigree-ml/pedigree/lineage/neo4j"
)

// export, import and migrate move a whole store between backends as a dump
// (see lineage.Dumper and lineage.Restore for the format and its order).

// storeFlags are the flags that name one store, defaulting as serve's do.
type storeFlags struct {
	url     string
	dataDir string
	neo4j   neo4j.Options
}

func bindStoreFlags(fs *pflag.FlagSet, f *storeFlags) {
	f.url, f.dataDir, f.neo4j = env("PEDIGREE_STORE", ""), env("PEDIGREE_DATA_DIR", "./pedigree-data"), neo4jOptions()
	fs.StringVar(&f.url, "store", f.url, "store URL: sqlite:///path/to/file.db or neo4j://host:7687; default: pedigree.db in --data-dir (PEDIGREE_STORE)")
	fs.StringVar(&f.dataDir, "data-dir", f.dataDir, "directory of the embedded store (PEDIGREE_DATA_DIR)")
	bindNeo4jFlags(fs, &f.neo4j)
}

func newExportCommand() *cobra.Command {
	var (
		f   storeFlags
		out string
	)
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the whole store as a dump (JSON Lines)",
		Long: `Write the whole store, history included, as a dump: JSON Lines, one record a line,
read from one consistent snapshot. pedigree import reads it into an empty store of any backend.

An embedded store must not be open in a running server (stop it first).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return oneLine(runExport(cmd, &f, out))
		},
	}
	bindStoreFlags(cmd.Flags(), &f)
	cmd.Flags().StringVarP(&out, "output", "o", "-", "file to write the dump to; - for standard output")
	return cmd
}

func runExport(cmd *cobra.Command, f *storeFlags, out string) (err error) {
	ctx, start := cmd.Context(), time.Now()
	src, err := openSource(ctx, storeURL(f.url, f.dataDir), f.neo4j)
	if err != nil {
		return err
	}
	defer closeStore(src, &err)
	w := cmd.OutOrStdout()
	if out != "-" && out != "" {
		file, ferr := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if ferr != nil {
			return fmt.Errorf("--output: %w", ferr)
		}
		defer func() {
			if cerr := file.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("--output: %w", cerr)
			}
			if err != nil {
				os.Remove(out) // an incomplete dump is no use
			}
		}()
		w = file
	}
	var c counts
	dw := lineage.NewDumpWriter(w)
	err = src.(lineage.Dumper).Dump(ctx, func(r *lineage.Record) error {
		c.add(r)
		return dw.Write(r)
	})
	if err == nil {
		err = dw.Close()
	}
	if err != nil {
		return fmt.Errorf("export: %s", message(err))
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "exported %s in %s\n", c, since(start))
	return nil
}

func newImportCommand() *cobra.Command {
	var (
		f  storeFlags
		in string
	)
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Read a dump into an empty store; import dvc and git-lfs record other tools' data on a server",
		Long: `Read a dump written by pedigree export into a store, which must be empty.
Its subcommands instead record other tools' data on a server: pedigree import dvc
a DVC pipeline's dvc.lock, pedigree import git-lfs Git LFS pointers (see their --help).

The import writes in batches: if it fails part-way, the store holds part of the dump;
wipe it before importing again. An embedded store must not be open in a running server.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return oneLine(runImport(cmd, &f, in))
		},
	}
	bindStoreFlags(cmd.Flags(), &f)
	cmd.Flags().StringVarP(&in, "input", "i", "-", "dump file to read; - for standard input")
	// Importers from other tools talk to a server, not a store.
	cmd.AddCommand(newImportDVCCommand(), newImportLFSCommand())
	return cmd
}

func runImport(cmd *cobra.Command, f *storeFlags, in string) (err error) {
	ctx, start := cmd.Context(), time.Now()
	r := cmd.InOrStdin()
	if in != "-" && in != "" {
		file, ferr := os.Open(in)
		if ferr != nil {
			return fmt.Errorf("--input: %w", ferr)
		}
		defer file.Close()
		r = file
	}
	dst, err := openStore(ctx, storeURL(f.url, f.dataDir), f.neo4j)
	if err != nil {
		return err
	}
	defer closeStore(dst, &err)
	var c counts
	dr := lineage.NewDumpReader(r)
	err = lineage.Restore(ctx, dst, func() (*lineage.Record, error) {
		rec, err := dr.Next()
		if err == nil {
			c.add(rec)
		}
		return rec, err
	})
	if err != nil {
		return fmt.Errorf("import: %s", message(err))
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "imported %s in %s\n", c, since(start))
	return nil
}

func newMigrateCommand() *cobra.Command {
	var (
		from, to string
		n4j      = neo4jOptions()
	)
	cmd := &cobra.Command{
		Use:   "migrate --from URL --to URL",
		Short: "Copy a whole store into an empty store, e.g. from SQLite to Neo4j",
		Long: `Copy a whole store, history included, into an empty store of any backend: export piped
into import, without a file. The Neo4j flags apply to whichever side is a neo4j:// store.

The copy writes in batches: if it fails part-way, the target holds part of the source;
wipe it before trying again. An embedded store must not be open in a running server.`,
		Example: `  pedigree migrate --from sqlite:///var/lib/pedigree/pedigree.db --to neo4j://db.internal:7687`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return oneLine(runMigrate(cmd, from, to, n4j))
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "URL of the store to copy")
	cmd.Flags().StringVar(&to, "to", "", "URL of the empty store to copy into")
	bindNeo4jFlags(cmd.Flags(), &n4j)
	_ = cmd.MarkFlagRequired("from")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

func runMigrate(cmd *cobra.Command, from, to string, n4j neo4j.Options) (err error) {
	ctx, start := cmd.Context(), time.Now()
	if from == to {
		return errors.New("--from and --to name the same store")
	}
	src, err := openSource(ctx, from, n4j)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	defer closeStore(src, &err)
	dst, err := openStore(ctx, to, n4j)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	defer closeStore(dst, &err)
	c, err := migrate(ctx, src.(lineage.Dumper), dst)
	if err != nil {
		return fmt.Errorf("migrate: %s", message(err))
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "migrated %s in %s\n", c, since(start))
	return nil
}

// migrate streams src's dump into Restore on dst: the dump runs in its own
// goroutine, a few records ahead, and stops when the restore fails.
func migrate(ctx context.Context, src lineage.Dumper, dst lineage.Store) (counts, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	records := make(chan *lineage.Record, 256)
	dumped := make(chan error, 1)
	go func() {
		defer close(records)
		dumped <- src.Dump(ctx, func(r *lineage.Record) error {
			select {
			case records <- r:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	var (
		c         counts
		dumpErr   error
		dumpKnown bool
	)
	err := lineage.Restore(ctx, dst, func() (*lineage.Record, error) {
		if r, ok := <-records; ok {
			c.add(r)
			return r, nil
		}
		dumpErr, dumpKnown = <-dumped, true
		if dumpErr != nil {
			return nil, fmt.Errorf("reading the source: %w", dumpErr)
		}
		return nil, io.EOF
	})
	cancel()
	for range records { // let the dump goroutine finish
	}
	if !dumpKnown {
		<-dumped
	}
	return c, err
}

// openSource opens a store to read a dump from: it must exist (opening an
// embedded store would create it) and be a lineage.Dumper.
func openSource(ctx context.Context, rawURL string, n4j neo4j.Options) (lineage.Store, error) {
	if u, err := url.Parse(rawURL); err == nil && u.Scheme == "sqlite" {
		if _, err := os.Stat(sqlitePath(u)); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no store at %s", sqlitePath(u))
		}
	}
	s, err := openStore(ctx, rawURL, n4j)
	if err != nil {
		return nil, err
	}
	if _, ok := s.(lineage.Dumper); !ok {
		s.Close()
		return nil, fmt.Errorf("a %T cannot be exported (it does not implement lineage.Dumper)", s)
	}
	return s, nil
}

func closeStore(s lineage.Store, err *error) {
	if cerr := s.Close(); *err == nil && cerr != nil {
		*err = fmt.Errorf("close store: %w", cerr)
	}
}

// counts tallies records by type.
type counts struct {
	total int64
	by    map[string]int64
}

func (c *counts) add(r *lineage.Record) {
	if c.by == nil {
		c.by = map[string]int64{}
	}
	c.total++
	c.by[r.Type()]++
}

func (c counts) String() string {
	parts := make([]string, 0, len(lineage.RecordTypes))
	for _, t := range lineage.RecordTypes {
		parts = append(parts, fmt.Sprintf("%d %s", c.by[t], t))
	}
	return fmt.Sprintf("%d records (%s)", c.total, strings.Join(parts, ", "))
}

// message is an error's text for a person: application errors in it
// read as their messages, without "pedigree error: code=…".
func message(err error) string {
	msg := err.Error()
	var le *lineage.Error
	if errors.As(err, &le) {
		msg = strings.Replace(msg, le.Error(), le.Message, 1)
	}
	return msg
}

// oneLine keeps an error to one line, as the CLI prints it.
func oneLine(err error) error {
	if err == nil {
		return nil
	}
	msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
	return errors.New(msg)
}

func since(start time.Time) string {
	return time.Since(start).Round(time.Millisecond).String()
}
