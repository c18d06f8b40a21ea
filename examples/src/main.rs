//! `siem`: the command-line program and reference server.

fn main() {
    eprintln!("siem: no subcommands yet");
    std::process::exit(2);
}
