//! `loadtest`: see the library documentation (`loadtest::run`, `loadtest::summary`).

use clap::Parser;
use loadtest::cli::{Cli, Cmd};

fn main() {
    let cli = Cli::parse();
    let code = match cli.cmd {
        Cmd::Run(args) => match loadtest::run::run(&args) {
            Ok(out) => {
                if args.json {
                    println!("{}", out.summary.to_json());
                } else {
                    print!("{}", loadtest::summary::summary_table(&out.summary));
                }
                if out.summary.cpu.saturated {
                    eprintln!(
                        "loadtest: WARNING: load generator saturated: result is a lower bound"
                    );
                }
                out.exit_code
            }
            Err(e) => {
                eprintln!("loadtest: {e}");
                2
            }
        },
        Cmd::Compare(args) => match loadtest::compare::compare(&args.runs, args.out.as_deref()) {
            Ok(_) => 0,
            Err(e) => {
                eprintln!("loadtest compare: {e}");
                2
            }
        },
    };
    std::process::exit(code);
}
