//! `ipam completions` and `ipam man`: generated from the clap definitions, so they never drift
//! from the commands.

use std::path::Path;

use clap::CommandFactory;

use crate::args::Cli;
use crate::failure::Failure;
use crate::output::emit;

/// The completion script for `shell`.
pub(crate) fn completions(shell: clap_complete::Shell) -> Result<(), Failure> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "ipam", &mut script);
    emit(None, &String::from_utf8_lossy(&script))
}

/// The manual: one roff document holding ipam's page and every subcommand's, or one file per
/// command in `dir`.
pub(crate) fn man(dir: Option<&Path>) -> Result<(), Failure> {
    let mut root = Cli::command();
    root.build();
    let mut pages = Vec::new();
    collect(&root, "ipam", &mut pages);
    match dir {
        None => emit(None, &pages.into_iter().map(|(_, page)| page).collect::<String>()),
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| Failure::Input(format!("{}: {e}", dir.display())))?;
            for (name, page) in pages {
                emit(Some(&dir.join(format!("{name}.1"))), &page)?;
            }
            Ok(())
        }
    }
}

/// `command`'s page under `name`, then its subcommands' (`ipam-pool-add`), depth first.
fn collect(command: &clap::Command, name: &str, pages: &mut Vec<(String, String)>) {
    let mut page = Vec::new();
    let titled = command.clone().display_name(name.to_owned()).bin_name(name.replace('-', " "));
    if clap_mangen::Man::new(titled).render(&mut page).is_ok() {
        pages.push((name.to_owned(), String::from_utf8_lossy(&page).into_owned()));
    }
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        collect(sub, &format!("{name}-{}", sub.get_name()), pages);
    }
}
