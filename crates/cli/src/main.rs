//! `ipam`: the command-line front of ipam-plan and ipam-store. Parsing and printing only.
//!
//! Exit codes: 0 success, 1 bad input (arguments, spec, files), 2 internal error.

mod args;
mod failure;
mod metrics;
mod output;
mod plan_cmd;
mod state_cmd;

use std::process::ExitCode;

use clap::Parser;

use crate::failure::Failure;

fn main() -> ExitCode {
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(1) } else { ExitCode::SUCCESS };
        }
    };
    output::set_max_input(cli.max_input_bytes);
    let result = match cli.command {
        args::Command::Plan(plan) => plan_cmd::run(&plan),
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
