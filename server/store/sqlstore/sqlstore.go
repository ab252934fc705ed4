// Package sqlstore implements store.Store on database/sql. The SQL is
// written once, with $N placeholders, for SQLite (modernc.org/sqlite, no
// cgo) and PostgreSQL; schema changes are goose migrations whose SQL is
// common to both (split a version per dialect only when the two differ).
// Each aggregate interface of package store is implemented in the file
// named like the one that declares it (orgs.go: store.Organizations).
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/kpilot/kpilot/server/seal"
	"github.com/kpilot/kpilot/server/store"
)

//go:embed migrations
var migrations embed.FS

// DB is a store.Store on a SQL database.
type DB struct {
	db      *timedDB
	sqlite  bool
	keyring *seal.Keyring  // seals secrets; nil: stored as given (WithKeyring)
	claims  *pendingClaims // SQLite: batch claims held in memory (ClaimBatch)
}

// DB implements every aggregate, through Store.
var _ store.Store = (*DB)(nil)

// OpenSQLite opens (creating if needed) the SQLite database at path and
// brings its schema up to date.
func OpenSQLite(ctx context.Context, path string, log *slog.Logger, opts ...Option) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating database directory: %w", err)
	}
	if err := createPrivate(path, log); err != nil {
		return nil, err
	}
	// WAL lets readers run beside the single writer; busy_timeout makes a
	// second writer wait instead of failing; _txlock=immediate takes the
	// write lock at BEGIN so read-then-write transactions cannot deadlock.
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	// secure_delete(FAST) zeroes what a delete or update frees within a
	// page, at no extra I/O: a secret sealed in place (WithKeyring) leaves
	// no plaintext copy behind in the file.
	q.Add("_pragma", "secure_delete(FAST)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("opening SQLite database %s: %w", path, err)
	}
	// database/sql keeps 2 idle connections by default and closes the
	// others as they come back. A SQLite connection is costly to make
	// (the file opened, the pragmas run, the schema parsed, each prepared
	// statement compiled again on it), and concurrent ingest requests use
	// several at once: keeping more idle saves making them again and
	// again, at the price of their page caches (2 MB each at most).
	db.SetMaxIdleConns(sqliteIdleConns)
	if err := migrate(ctx, db, goose.DialectSQLite3, "migrations", log); err != nil {
		db.Close()
		return nil, fmt.Errorf("SQLite database %s: %w", path, err)
	}
	return open(ctx, &DB{db: &timedDB{DB: db, prepare: true}, sqlite: true, claims: &pendingClaims{}}, log, opts)
}

// sqliteIdleConns is how many idle SQLite connections are kept: about as
// many as ingest decodes batches at once on a small host, plus the
// portal's and the agents' look-ups beside them.
const sqliteIdleConns = 8

// open applies opts to a DB whose schema is up to date and prepares its
// secrets.
func open(ctx context.Context, d *DB, log *slog.Logger, opts []Option) (*DB, error) {
	for _, o := range opts {
		o(d)
	}
	if err := d.prepareSecrets(ctx, log); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// createPrivate creates the database file readable by its owner only
// (it holds keys, password hashes and the audit trail): SQLite would
// create it with the process's umask, typically 0644, and creates its
// -wal and -shm files with the database file's mode. An existing file
// is left as the operator made it, with a warning if others may read it.
func createPrivate(path string, log *slog.Logger) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		return f.Close()
	case !errors.Is(err, fs.ErrExist):
		return fmt.Errorf("creating SQLite database %s: %w", path, err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("the SQLite database may be read by other users; it holds keys and password hashes (chmod 600)",
			"path", path, "mode", fi.Mode().Perm().String())
	}
	return nil
}

// OpenPostgres connects to the PostgreSQL database named by dsn (a
// postgres:// URL or key=value string) and brings its schema up to date.
// Several server replicas may share one database: goose serialises
// concurrent migrations with a lock table, and no replica keeps state in
// memory that the others need.
func OpenPostgres(ctx context.Context, dsn string, log *slog.Logger, opts ...Option) (*DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening PostgreSQL database: %w", err)
	}
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(10)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	// A PostgreSQL advisory lock makes replicas that start together take
	// turns: the first migrates, the others find nothing left to do.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300)) // retry each second, up to 5 minutes
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("preparing migration lock: %w", err)
	}
	if err := migrate(ctx, db, goose.DialectPostgres, "migrations", log, goose.WithSessionLocker(locker)); err != nil {
		db.Close()
		return nil, fmt.Errorf("PostgreSQL database: %w", err)
	}
	return open(ctx, &DB{db: &timedDB{DB: db}}, log, opts)
}

func migrate(ctx context.Context, db *sql.DB, dialect goose.Dialect, dir string, log *slog.Logger, opts ...goose.ProviderOption) error {
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(dialect, db, fsys, opts...)
	if err != nil {
		return fmt.Errorf("preparing migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrating schema: %w", err)
	}
	for _, r := range res {
		log.Info("applied schema migration", "version", r.Source.Version, "file", r.Source.Path)
	}
	return nil
}

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// ms stores a time as Unix milliseconds; the zero time is 0, as fromMS
// reads it back.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// notFound maps sql.ErrNoRows to store.ErrNotFound with context.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// isUnique reports a unique-constraint violation in either dialect.
func isUnique(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "duplicate key value")
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// queryAll runs a query and scans every row; what names the rows in errors.
func queryAll[T any](ctx context.Context, q querier, what string, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

func (d *DB) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	defer d.db.observe("tx", time.Now())
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing transaction: %w", err)
	}
	return nil
}

// exec1 runs a statement that must change at least one row; none is
// ErrNotFound for what.
func (d *DB) exec1(ctx context.Context, what, query string, args ...any) error {
	res, err := d.db.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("updating %s: %w", what, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

// placeholders returns "$from, …, $(from+n-1)".
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", from+i)
	}
	return b.String()
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// chunks splits ids into lists short enough for one IN (…) clause.
func chunks(ids []string) [][]string {
	const n = 500
	var out [][]string
	for len(ids) > 0 {
		k := min(n, len(ids))
		out = append(out, ids[:k])
		ids = ids[k:]
	}
	return out
}

func fromNullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}
