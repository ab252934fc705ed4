package devenv

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	// V3Users covers every security level and every auth and privacy
	// protocol net-snmp and gosnmp share; all use V3AuthPass and V3PrivPass.
	V3Users []V3User
}

// V3User is one SNMPv3 user of the test snmpd, with protocols named as in
// the agent's config (security_level, auth_protocol, priv_protocol).
type V3User struct {
	Name, Level, Auth, Priv string
}

// v3Users are created in snmpd.conf; the net-snmp names of the protocols
// differ from ours.
var v3Users = []struct {
	V3User
	netsnmpAuth, netsnmpPriv string
}{
	{V3User{"kp-noauth", "no_auth_no_priv", "", ""}, "", ""},
	{V3User{"kp-sha-auth", "auth_no_priv", "sha", ""}, "SHA", ""},
	{V3User{"kp-md5-des", "auth_priv", "md5", "des"}, "MD5", "DES"},
	{V3User{"kp-sha224-aes", "auth_priv", "sha224", "aes"}, "SHA-224", "AES"},
	{V3User{"kp-sha256-aes192", "auth_priv", "sha256", "aes192"}, "SHA-256", "AES-192"},
	{V3User{"kp-sha384-aes256", "auth_priv", "sha384", "aes256"}, "SHA-384", "AES-256"},
	{V3User{"kp-sha512-aes192c", "auth_priv", "sha512", "aes192c"}, "SHA-512", "AES-192-C"},
	{V3User{"kp-sha512-aes256c", "auth_priv", "sha512", "aes256c"}, "SHA-512", "AES-256-C"},
}

// v3Conf returns the createUser and rouser lines of v3Users.
func v3Conf(auth, priv string) string {
	var b strings.Builder
	for _, u := range v3Users {
		switch u.Level {
		case "no_auth_no_priv":
			fmt.Fprintf(&b, "createUser %s\nrouser %[1]s noauth\n", u.Name)
		case "auth_no_priv":
			fmt.Fprintf(&b, "createUser %s %s %q\nrouser %[1]s auth\n", u.Name, u.netsnmpAuth, auth)
		default:
			fmt.Fprintf(&b, "createUser %s %s %q %s %q\nrouser %[1]s priv\n", u.Name, u.netsnmpAuth, auth, u.netsnmpPriv, priv)
		}
	}
	return b.String()
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
includeAllDisks 10%%
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
	body := fmt.Sprintf(snmpdConf, s.Community, s.V3User, s.V3AuthPass, s.V3PrivPass) + v3Conf(s.V3AuthPass, s.V3PrivPass)
	for _, u := range v3Users {
		s.V3Users = append(s.V3Users, u.V3User)
	}
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
	if err := p.WaitFor(ctx, 20*time.Second, snmpAnswers(s.Host, port, s.Community)); err != nil {
		return nil, err
	}
	return s, nil
}

// snmpAnswers returns a readiness check: a v2c GET of sysDescr on
// host:port with community gets an answer.
func snmpAnswers(host string, port int, community string) func() error {
	return func() error {
		g := &gosnmp.GoSNMP{Target: host, Port: uint16(port), Community: community,
			Version: gosnmp.Version2c, Timeout: 500 * time.Millisecond, Retries: 0}
		if err := g.Connect(); err != nil {
			return err
		}
		defer g.Conn.Close()
		_, err := g.Get([]string{".1.3.6.1.2.1.1.1.0"})
		return err
	}
}
