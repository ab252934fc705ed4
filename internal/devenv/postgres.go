package devenv

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// Postgres is a running PostgreSQL server owned by one test or demo, with
// trust authentication for the user "kpilot" on 127.0.0.1 only.
type Postgres struct {
	*Process
	Port int
	dir  string
}

// PostgresBinDir finds the directory of Debian's postgres and initdb:
// $KPILOT_PG_BIN, or the newest /usr/lib/postgresql/N/bin.
func PostgresBinDir() (string, error) {
	if d := os.Getenv("KPILOT_PG_BIN"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("postgres: %w (set KPILOT_PG_BIN, or run make deps)", ErrMissing)
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// StartPostgres initialises a cluster under dir and starts it on port (0
// picks a free one). PostgreSQL refuses to run as root, so under root the
// cluster belongs to, and runs as, the "postgres" system user that Debian's
// package creates; dir must then be reachable by it.
func StartPostgres(ctx context.Context, dir string, port int, log io.Writer) (*Postgres, error) {
	bin, err := PostgresBinDir()
	if err != nil {
		return nil, err
	}
	if port == 0 {
		if port, err = FreePort("tcp"); err != nil {
			return nil, err
		}
	}
	data, sock := filepath.Join(dir, "data"), filepath.Join(dir, "sock")
	for _, d := range []string{dir, sock} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	cred, err := pgCredential()
	if err != nil {
		return nil, err
	}
	if cred != nil {
		for _, d := range []string{dir, sock} {
			if err := os.Chown(d, int(cred.Uid), int(cred.Gid)); err != nil {
				return nil, fmt.Errorf("handing %s to the postgres user: %w", d, err)
			}
		}
	}
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "kpilot",
		"--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", sock,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off",
		"-c", "synchronous_commit=off", "-c", "max_connections=200")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	p, err := Start("postgres", cmd, log)
	if err != nil {
		return nil, err
	}
	pg := &Postgres{Process: p, Port: port, dir: dir}
	err = p.WaitFor(ctx, 60*time.Second, func() error {
		db, err := sql.Open("pgx", pg.DSN("postgres"))
		if err != nil {
			return err
		}
		defer db.Close()
		return db.PingContext(ctx)
	})
	if err != nil {
		return nil, err
	}
	return pg, nil
}

// pgCredential is the postgres user's when running as root, else nil.
func pgCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL needs the postgres system user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// DSN is the connection string for database.
func (p *Postgres) DSN(database string) string {
	return fmt.Sprintf("postgres://kpilot@127.0.0.1:%d/%s?sslmode=disable", p.Port, database)
}

// CreateDatabase makes a new, empty database and returns its DSN.
func (p *Postgres) CreateDatabase(ctx context.Context, name string) (string, error) {
	if strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
		return "", fmt.Errorf("database name %q: use lower-case letters, digits and _", name)
	}
	db, err := sql.Open("pgx", p.DSN("postgres"))
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("creating database %s: %w", name, err)
	}
	return p.DSN(name), nil
}
