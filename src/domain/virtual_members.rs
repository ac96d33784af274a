//! Which members of a virtual repository a request consults. With the dependency-confusion
//! guard on (the default), a package that exists in a local member is answered by local members
//! only, so a public package of the same name (at whatever version) is never offered.

/// The members asked about one package, in order. `members` are `(name, is_local)` in order.
pub fn consulted(members: &[(String, bool)], local_has_package: bool, guard: bool) -> Vec<&str> {
    members
        .iter()
        .filter(|(_, local)| *local || !(guard && local_has_package))
        .map(|(name, _)| name.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guard_keeps_remotes_away_from_local_packages() {
        let members = vec![
            ("remote-first".to_string(), false),
            ("local-py".to_string(), true),
            ("remote-py".to_string(), false),
        ];
        let table = [
            (true, true, vec!["local-py"]),
            (false, true, vec!["remote-first", "local-py", "remote-py"]),
            (true, false, vec!["remote-first", "local-py", "remote-py"]),
            (false, false, vec!["remote-first", "local-py", "remote-py"]),
        ];
        for (local_has, guard, expected) in table {
            assert_eq!(consulted(&members, local_has, guard), expected, "{local_has} {guard}");
        }
    }
}
