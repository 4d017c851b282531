//! The axon address as `serve_axon` takes it: bittensor's `utils/networking.py`
//! `ip_to_int` (`int(netaddr.IPAddress(s))`, so IPv4 is its u32 widened to u128 and IPv6 its
//! 128-bit big-endian value) and `ip_version` (4 or 6), plus subtensor's own checks
//! (`pallets/subtensor/src/subnets/serving.rs::is_valid_ip_address`, `validate_axon_data`) so
//! that a bad address fails here with a clear message instead of as a chain error.

use std::net::IpAddr;

/// `ip_to_int`: the integer the chain stores in `AxonInfo.ip`.
pub fn ip_to_int(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// `ip_version`: `AxonInfo.ip_type`, 4 or 6 (IPv4-mapped IPv6 such as `::ffff:1.2.3.4`
/// stays 6, as in `netaddr`).
pub fn ip_type(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => 4,
        IpAddr::V6(_) => 6,
    }
}

/// Parses an external address; the error names the input.
pub fn parse_ip(s: &str) -> Result<IpAddr, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("{s:?} is not an IPv4 or IPv6 address"))
}

/// Subtensor's `is_valid_ip_address` and non-zero port rule: `Err` says why the chain would
/// refuse (`InvalidIpAddress`, `InvalidPort`).
pub fn check_servable(ip: IpAddr, port: u16) -> Result<(), String> {
    let n = ip_to_int(ip);
    let ok = match ip_type(ip) {
        4 => n != 0 && n < u128::from(u32::MAX) && n != 0x7f00_0001,
        _ => n != 0 && n != u128::MAX && n != 1,
    };
    if !ok {
        return Err(format!(
            "{ip} cannot be served on chain (zero, loopback or broadcast address)"
        ));
    }
    if port == 0 {
        return Err("port 0 cannot be served on chain".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(s: &str) -> u128 {
        ip_to_int(parse_ip(s).unwrap())
    }

    /// bittensor `tests/unit_tests/utils/test_networking.py` vectors.
    #[test]
    fn chain_ip_to_int_matches_bittensor_vectors() {
        assert_eq!(int("0.0.0.0"), 0);
        for i in 0..10u128 {
            assert_eq!(int(&format!("0.0.0.{i}")), i);
            assert_eq!(int(&format!("::1:0:{i}")), 4_294_967_296 + i);
        }
        assert_eq!(int("255.255.255.255"), 4_294_967_295);
        assert_eq!(int("::1:0:0"), 4_294_967_296);
        assert_eq!(
            int("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            340_282_366_920_938_463_463_374_607_431_768_211_455
        );
        assert_eq!(int("1.2.3.4"), 0x0102_0304);
        assert_eq!(int("127.0.0.1"), 2_130_706_433);
    }

    #[test]
    fn chain_ip_type_matches_bittensor_vectors() {
        for v4 in ["192.168.1.1", "10.0.0.1", "0.0.0.0", "255.255.255.255"] {
            assert_eq!(ip_type(parse_ip(v4).unwrap()), 4, "{v4}");
        }
        for v6 in [
            "::1",
            "fe80::1",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "::ffff:1.2.3.4",
        ] {
            assert_eq!(ip_type(parse_ip(v6).unwrap()), 6, "{v6}");
        }
        for bad in ["not_an_ip", "", "999.999.999.999", "192.168.1"] {
            assert!(parse_ip(bad).unwrap_err().contains("not an IPv4"), "{bad}");
        }
    }

    #[test]
    fn chain_servable_follows_subtensor_rules() {
        let ok = |s: &str, p| check_servable(parse_ip(s).unwrap(), p);
        assert!(ok("203.0.113.5", 8091).is_ok());
        assert!(ok("2001:db8::1", 8091).is_ok());
        assert!(ok("203.0.113.5", 0).unwrap_err().contains("port 0"));
        for bad in ["0.0.0.0", "127.0.0.1", "255.255.255.255", "::", "::1"] {
            assert!(ok(bad, 8091).is_err(), "{bad}");
        }
        assert!(ok("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1).is_err());
    }
}
