//! A CNI network configuration as `ipam-cni` reads it from stdin: a typed error or a
//! configuration whose parts agree (gateway and exclusions inside the subnet, a node block no
//! larger than the subnet), never a panic.

pub fn check(data: &[u8]) -> Result<(), String> {
    let Ok(conf) = ipam_cni::NetConf::parse(data) else { return Ok(()) };
    let ipam = &conf.ipam;
    if let Some(g) = ipam.gateway.filter(|g| !ipam.subnet.contains(g)) {
        return Err(format!("gateway {g} outside {}", ipam.subnet));
    }
    if let Some(e) = ipam.exclude.iter().find(|e| !ipam.subnet.contains(*e)) {
        return Err(format!("exclusion {e} outside {}", ipam.subnet));
    }
    if ipam.node_block.is_some_and(|len| len < ipam.subnet.prefix_len() || len > 32) {
        return Err(format!("node block /{:?} against {}", ipam.node_block, ipam.subnet));
    }
    if !ipam_cni::SUPPORTED.contains(&conf.cni_version.as_str()) {
        return Err(format!("accepted version {}", conf.cni_version));
    }
    Ok(())
}
