//! Zone files checked as a DNS server would read them: BIND's `named-checkzone` where it is
//! installed (Debian `bind9-utils`; CI installs it), and every PTR name resolving, in the forward
//! zone, to the same address.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;

/// Checks the zone files written by one `ipam plan --format dns`.
pub(crate) fn check(files: &[PathBuf]) {
    let origin = |text: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix("$ORIGIN "))
            .map(|o| o.trim_end_matches('.').to_owned())
            .unwrap()
    };
    let mut forward: HashMap<String, Ipv4Addr> = HashMap::new();
    let mut pointers: Vec<(Ipv4Addr, String)> = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        let zone = origin(&text);
        match Command::new("named-checkzone").arg(&zone).arg(file).output() {
            Ok(out) => assert!(
                out.status.success(),
                "named-checkzone {zone} {}: {}",
                file.display(),
                String::from_utf8_lossy(&out.stdout)
            ),
            Err(_) => eprintln!(
                "named-checkzone is not installed (Debian bind9-utils): {} checked by this test only",
                file.display()
            ),
        }
        for line in text.lines().filter(|l| !l.starts_with([';', '$', '@'])) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields[..] {
                [name, "IN", "A", address] => {
                    let previous = forward.insert(format!("{name}.{zone}"), address.parse().unwrap());
                    assert!(previous.is_none(), "{name}.{zone} has two A records");
                }
                [name, "IN", "PTR", target] => {
                    let octets: Vec<u8> = format!("{name}.{zone}")
                        .trim_end_matches(".in-addr.arpa")
                        .split('.')
                        .map(|o| o.parse().unwrap())
                        .collect();
                    let address = Ipv4Addr::new(octets[3], octets[2], octets[1], octets[0]);
                    pointers.push((address, target.trim_end_matches('.').to_owned()));
                }
                _ => panic!("unexpected record in {}: {line}", file.display()),
            }
        }
    }
    assert!(!pointers.is_empty());
    for (address, name) in pointers {
        assert_eq!(forward.get(&name), Some(&address), "PTR {address} -> {name} does not resolve back");
    }
}
