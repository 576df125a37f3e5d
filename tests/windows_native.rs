//! The native Windows Installer rules for row changes (an insert must target a missing row, an
//! update or delete an existing one, unless the transform suppresses that error) on built
//! transforms, and proof that the check fails when a transform breaks them. Wine cannot tell:
//! it turns an update of a missing row into an insert. Needs msiinfo (msitools); skips
//! visibly without it (fails under AGENTPACK_REQUIRE_TOOLS=1).

#[path = "windows_checks/mod.rs"]
mod checks;
mod common;
#[path = "windows_helpers.rs"]
mod helpers;

use agentpack::formats::mst::{write_transform, ChangeSet, Database, TransformOptions};
use checks::*;
use helpers::*;
use std::path::{Path, PathBuf};

fn built_mst(dir: &Path, msi: &str) -> PathBuf {
    let sub = dir.join(msi);
    std::fs::create_dir(&sub).unwrap();
    let p = policy(&sub, "acme", "scope: user\n");
    let b = build(&sub, &[p], &msi_fixture(msi), &[]);
    b.out.join("acme/windows/acme.mst")
}

#[test]
fn built_transforms_follow_native_rules_and_the_check_catches_wrong_operations() {
    let Some(msiinfo) = msiinfo_tool("built_transforms_follow_native_rules") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // vendor.msi lacks CP_SILENT (an insert), vendor-silent.msi has it (an update); both have
    // ALLUSERS, which user scope updates.
    let for_plain = built_mst(dir.path(), "vendor.msi");
    let for_silent = built_mst(dir.path(), "vendor-silent.msi");
    for (msi, mst) in [
        ("vendor.msi", &for_plain),
        ("vendor-silent.msi", &for_silent),
    ] {
        let wrong = native_rule_violations(&msiinfo, &msi_fixture(msi), mst);
        assert!(wrong.is_empty(), "{msi}: {wrong:?}");
    }

    // Each transform applied to the other base breaks the rules the way a writer bug would:
    // an update written for a row the base lacks, an insert for one it has.
    assert_eq!(
        native_rule_violations(&msiinfo, &msi_fixture("vendor.msi"), &for_silent),
        [r#"updates Property ["CP_SILENT"], which is missing"#]
    );
    assert_eq!(
        native_rule_violations(&msiinfo, &msi_fixture("vendor-silent.msi"), &for_plain),
        [r#"inserts Property ["CP_SILENT"], which exists"#]
    );

    // A delete of a missing row, reported unless the transform suppresses that error.
    let silent = Database::open(&msi_fixture("vendor-silent.msi")).unwrap();
    let mut changes = ChangeSet::new();
    changes.delete_property("CP_SILENT");
    for (suppress, want) in [
        (
            0,
            vec![r#"deletes Property ["CP_SILENT"], which is missing"#],
        ),
        (0x02, vec![]),
    ] {
        let opts = TransformOptions {
            error_suppression: suppress,
            ..TransformOptions::default()
        };
        let mst = dir.path().join(format!("delete-{suppress}.mst"));
        std::fs::write(&mst, write_transform(&silent, &changes, &opts).unwrap()).unwrap();
        assert_eq!(
            native_rule_violations(&msiinfo, &msi_fixture("vendor.msi"), &mst),
            want,
            "error suppression {suppress:#x}"
        );
    }
}
