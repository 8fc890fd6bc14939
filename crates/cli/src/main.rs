//! `ipam`: the command-line front of ipam-plan and ipam-store. Parsing and printing only.
//!
//! Exit codes: 0 success, 1 bad input (arguments, spec, files), 2 internal error.

mod args;
mod docs_cmd;
mod failure;
mod metrics;
mod output;
mod plan_cmd;
mod pool_show;
mod state_cmd;

use std::process::ExitCode;

use clap::Parser;

use crate::failure::Failure;

fn main() -> ExitCode {
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print(); // --help, --version
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // One line, as every other error: what clap says before its usage block.
            let text = e.render().to_string();
            let said: Vec<&str> = text
                .lines()
                .take_while(|l| !l.starts_with("Usage:"))
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            eprintln!("{} (see --help)", output::clean(&said.join(" ")));
            return ExitCode::from(1);
        }
    };
    output::set_max_input(cli.max_input_bytes);
    let result = match cli.command {
        args::Command::Plan(plan) => plan_cmd::run(&plan),
        args::Command::Completions { shell } => docs_cmd::completions(shell),
        args::Command::Man { dir } => docs_cmd::man(dir.as_deref()),
        command => state_cmd::run(&cli.state, command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", output::clean(&failure.to_string()));
            ExitCode::from(match failure {
                Failure::Input(_) => 1,
                Failure::Internal(_) => 2,
            })
        }
    }
}
