//! Addresses, networks and `FIRST-LAST` ranges as the CLI reads them: an error, or a value that
//! prints back exactly as it was typed (the strict parser accepts only canonical spellings).

use ipam_core::parse;

pub fn check(data: &[u8]) -> Result<(), String> {
    let Ok(text) = std::str::from_utf8(data) else { return Ok(()) };
    if let Ok(net) = parse::net(text) {
        if net.to_string() != text || net.trunc() != net {
            return Err(format!("{text:?} parsed as {net}"));
        }
    }
    if let Ok(addr) = parse::addr(text) {
        if addr.to_string() != text {
            return Err(format!("{text:?} parsed as {addr}"));
        }
    }
    if let Some((first, last)) = text.split_once('-')
        && let (Ok(a), Ok(b)) = (parse::addr(first), parse::addr(last))
        && format!("{a}-{b}") != text
    {
        return Err(format!("{text:?} parsed as {a}-{b}"));
    }
    Ok(())
}
