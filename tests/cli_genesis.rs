//! `z3r0 genesis` end to end: writes a loadable network and refuses to overwrite one.

use std::process::Command;

#[test]
fn genesis_command_writes_a_network_and_never_overwrites_it() {
    let dir = std::env::temp_dir().join(format!("z3r0-cli-genesis-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_z3r0"))
            .args([
                "genesis",
                "--validators",
                "3",
                "--base-port",
                "21000",
                "--out",
            ])
            .arg(&dir)
            .output()
            .unwrap()
    };
    let out = run();
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("3 validators"), "{stdout}");
    for i in 0..3 {
        let (cfg, genesis, _) =
            z3r0_node::ValidatorConfig::load(&dir.join(format!("validator-{i}/config.toml")))
                .unwrap();
        assert_eq!(genesis.validators.len(), 3);
        assert_eq!(cfg.p2p_listen.port(), 21_000 + i);
    }
    let before = std::fs::read(dir.join("validator-0/private.key")).unwrap();
    let again = run();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("refusing to overwrite"));
    assert_eq!(
        std::fs::read(dir.join("validator-0/private.key")).unwrap(),
        before
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
