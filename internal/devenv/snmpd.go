package devenv

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/gosnmp/gosnmp"
)

// Snmpd is a running net-snmp agent serving this machine's own MIB-II,
// HOST-RESOURCES and UCD data.
type Snmpd struct {
	*Process
	Host      string
	Port      int
	Community string
	// SNMPv3 user with SHA authentication and AES privacy.
	V3User, V3AuthPass, V3PrivPass string
}

// Addr is host:port.
func (s *Snmpd) Addr() string { return fmt.Sprintf("%s:%d", s.Host, s.Port) }

// SnmpdPath finds snmpd: $KPILOT_SNMPD, PATH, or /usr/sbin.
func SnmpdPath() (string, error) { return lookPath("KPILOT_SNMPD", "snmpd", "/usr/sbin") }

// The listening address is given on the command line only: naming it in the
// config too makes snmpd bind it twice and exit.
const snmpdConf = `rocommunity %s 127.0.0.1
createUser %s SHA "%s" AES "%s"
rouser %[2]s priv
sysName kpilot-snmpd
sysLocation kpilot test rack
sysContact ops@example.com
sysServices 72
`

// StartSnmpd starts snmpd on port (0 picks a free one) with its config and
// state under dir.
func StartSnmpd(ctx context.Context, dir string, port int, log io.Writer) (*Snmpd, error) {
	bin, err := SnmpdPath()
	if err != nil {
		return nil, err
	}
	if port == 0 {
		if port, err = FreePort("udp"); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "persist"), 0o755); err != nil {
		return nil, err
	}
	s := &Snmpd{Host: "127.0.0.1", Port: port, Community: "public",
		V3User: "kpilot", V3AuthPass: "kpilot-auth-pass", V3PrivPass: "kpilot-priv-pass"}
	conf := filepath.Join(dir, "snmpd.conf")
	body := fmt.Sprintf(snmpdConf, s.Community, s.V3User, s.V3AuthPass, s.V3PrivPass)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		return nil, err
	}
	// -f foreground, -Lo log to stdout, -C only our config, -r no root
	// file checks; SNMP_PERSISTENT_DIR keeps state out of /var/lib/snmp.
	cmd := exec.Command(bin, "-f", "-Lo", "-C", "-c", conf, "-r", "-p", filepath.Join(dir, "snmpd.pid"),
		fmt.Sprintf("udp:127.0.0.1:%d", port))
	cmd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+filepath.Join(dir, "persist"), "MIBS=")
	p, err := Start("snmpd", cmd, log)
	if err != nil {
		return nil, err
	}
	s.Process = p
	err = p.WaitFor(ctx, 20*time.Second, func() error {
		g := &gosnmp.GoSNMP{Target: s.Host, Port: uint16(port), Community: s.Community,
			Version: gosnmp.Version2c, Timeout: 300 * time.Millisecond, Retries: 0}
		if err := g.Connect(); err != nil {
			return err
		}
		defer g.Conn.Close()
		_, err := g.Get([]string{".1.3.6.1.2.1.1.3.0"})
		return err
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}
