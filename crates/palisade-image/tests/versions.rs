//! Comparator test vectors from the upstream projects (facts, restated here with their source):
//!
//! - apk: apk-tools `test/version.data` (a selection of its `a <|=|> b` lines);
//! - rpm: rpm `tests/rpmvercmp.at` (the RPMVERCMP cases, tilde and caret included);
//! - dpkg: Debian Policy §5.6.12 and deb-version(7) (`~~ < ~~a < ~ < (empty) < a`, epochs,
//!   revisions);
//! - semver: semver.org 2.0.0 §11 (the precedence example chain);
//! - PEP 440: the "Summary of permitted suffixes and relative ordering" example chain of PEP 440;
//! - Maven: the ordering documented for ComparableVersion (Maven's "Version Order
//!   Specification": qualifiers alpha < beta < milestone < rc = cr < snapshot < "" = final = ga
//!   = release < sp; trailing zeros are insignificant).

use palisade_image::version::{apk, dpkg, maven, pep440, rpmvercmp, semver};
use std::cmp::Ordering;

fn op(o: &str) -> Ordering {
    match o {
        "<" => Ordering::Less,
        "=" => Ordering::Equal,
        ">" => Ordering::Greater,
        _ => panic!("bad operator {o}"),
    }
}

const APK: &str = "2.34 > 0.1.0_alpha
23_foo > 4_beta
1.0 < 1.0bc
0.1.0_alpha = 0.1.0_alpha
0.1.0_alpha < 0.1.3_alpha
0.1.0_alpha2 > 0.1.0_alpha
0.1.0_alpha < 2.2.39-r1
1.0.4-r3 < 1.0.4-r4
1.1 > 1.1_alpha1
1.2.1 > 1.2
1.2 < 1.3_alpha
1.3_alpha < 1.3_alpha2
0.7.0 < 0.8_beta1
0.8_beta4 < 4.8-r1
3.10.18-r1 > 2.3.0b-r1
2.3.0b-r1 < 2.3.0b-r2
0.12.3 > 0.12
0.12 < 0.13_beta1
1.2.11 < 1.2.12.1
1.2.12.1 < 1.2.13
0.2.0-r1 < 3.1_p16
3.1_p16 < 3.1_p17
3.1_p17 > 1.06-r6
1.06-r6 < 006
006 > 1.0.0
1.2.2-r1 > 1.2.2
9.3.4-r2 > 9.3.4
2.59 < 20050718-r1
3.9.8-r5 > 2.01.01_alpha10
2.01.01_alpha10 > 0.94
1.0 > 0.99.3.20040818
0.99.3.20040818 > 0.7
1.39 > 1.00_beta2
0.5.2.7 < 4.2.52_p2-r1
4.2.52_p2-r1 < 4.2.52_p4-r2
4.2.52_p4-r2 > 1.02.07
1.02.07 < 1.02.10-r1
2.18.3-r10 > 1.05-r18
20060720 > 3.0.20060720
3.0.20060720 < 20060720
1.4.4-r1 < 2.1.9.200602141850
2.5.1-r8 < 2.5.1a-r1
1.3.5-r10 > 1.3.5-r8
20040401 > 2.0.0_rc3-r1
3.0.0-r2 < 021109-r3
0.9.16-r1 < 3.9_pre20060124
1.1.7 < 6b-r7
0.10.0 < 0.10.1_rc1
1.1a < 1.3a
1.0-r1 > 0.15.1b
0.15.1b-r2 > 0.15.1b
22.7-r1 < 22.7.3-r1
22.7 > 2.1_pre20
2.10.1 > 02.08.01b
3.81 > 1.6d
1.6d > 1.2.07.8
1.2.07.8 < 1.2.12.04
1.2.12.04 < 1.2.12.05
1.07-r1 < 1.07.5
1.07.5 > 1.07
20061003 > 0.1_pre20060810
3.3.17 > 0.59s-r11
0.59s-r11 < 0.65
4.01 < 4.20
4.20 > 0.20070118
0.20070118 < 0.20070207_rc1
0.20070207_rc1 < 1.0
3.7_p1 > 1.3
4.5_p1-r1 > 4.5_p1
0.9.8c-r1 < 0.9.8d
2.2.3-r2 < 013
013 < 014-r1
1.7 < 1.7b
1.8.5 < 1.8.5_p2
2.9.11_pre20051101-r3 > 2.9.11_pre20051101
1.6.8_p12-r1 > 1.6.8_p9-r2
0.9.28-r2 < 0.9.28.1
0.9.28.1 < 087-r1
104-r11 > 104-r9
20040406-r1 > 2.12r-r4
2.12r-r4 < 2.12r-r5
7.0.17 < 7.0.174
1.2.9.1-r1 > 1.2.9.1
1.3-r0 < 1.3.1-r0
1.3_pre1-r1 < 1.3.2
1.0_p10-r0 > 1.0_p9-r0
0.1.0_alpha_pre2 < 0.1.0_alpha
1.0.0_pre20191002222144-r0 < 1.0.0_pre20210530193627-r0";

#[test]
fn apk_tools_version_data() {
    let mut bad = Vec::new();
    for line in APK.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        let (a, o, b) = (w[0], op(w[1]), w[2]);
        if apk(a, b) != o || apk(b, a) != o.reverse() {
            bad.push(line);
        }
    }
    assert!(bad.is_empty(), "apk comparisons wrong: {bad:#?}");
}

const RPM: &[(&str, &str, i32)] = &[
    ("1.0", "1.0", 0),
    ("1.0", "2.0", -1),
    ("2.0", "1.0", 1),
    ("2.0.1", "2.0.1", 0),
    ("2.0", "2.0.1", -1),
    ("2.0.1", "2.0", 1),
    ("2.0.1a", "2.0.1a", 0),
    ("2.0.1a", "2.0.1", 1),
    ("2.0.1", "2.0.1a", -1),
    ("5.5p1", "5.5p1", 0),
    ("5.5p1", "5.5p2", -1),
    ("5.5p2", "5.5p1", 1),
    ("5.5p10", "5.5p10", 0),
    ("5.5p1", "5.5p10", -1),
    ("5.5p10", "5.5p1", 1),
    ("10xyz", "10.1xyz", -1),
    ("10.1xyz", "10xyz", 1),
    ("xyz10", "xyz10", 0),
    ("xyz10", "xyz10.1", -1),
    ("xyz10.1", "xyz10", 1),
    ("xyz.4", "xyz.4", 0),
    ("xyz.4", "8", -1),
    ("8", "xyz.4", 1),
    ("xyz.4", "2", -1),
    ("2", "xyz.4", 1),
    ("5.5p2", "5.6p1", -1),
    ("5.6p1", "5.5p2", 1),
    ("5.6p1", "6.5p1", -1),
    ("6.5p1", "5.6p1", 1),
    ("6.0.rc1", "6.0", 1),
    ("6.0", "6.0.rc1", -1),
    ("10b2", "10a1", 1),
    ("10a2", "10b2", -1),
    ("1.0aa", "1.0aa", 0),
    ("1.0a", "1.0aa", -1),
    ("1.0aa", "1.0a", 1),
    ("10.0001", "10.0001", 0),
    ("10.0001", "10.1", 0),
    ("10.1", "10.0001", 0),
    ("10.0001", "10.0039", -1),
    ("10.0039", "10.0001", 1),
    ("4.999.9", "5.0", -1),
    ("5.0", "4.999.9", 1),
    ("20101121", "20101121", 0),
    ("20101121", "20101122", -1),
    ("20101122", "20101121", 1),
    ("2_0", "2_0", 0),
    ("2.0", "2_0", 0),
    ("2_0", "2.0", 0),
    ("a", "a", 0),
    ("a+", "a+", 0),
    ("a+", "a_", 0),
    ("a_", "a+", 0),
    ("+a", "+a", 0),
    ("+a", "_a", 0),
    ("_a", "+a", 0),
    ("+_", "+_", 0),
    ("_+", "+_", 0),
    ("_+", "_", 0),
    ("+", "_", 0),
    ("1.0~rc1", "1.0~rc1", 0),
    ("1.0~rc1", "1.0", -1),
    ("1.0", "1.0~rc1", 1),
    ("1.0~rc1", "1.0~rc2", -1),
    ("1.0~rc2", "1.0~rc1", 1),
    ("1.0~rc1~git123", "1.0~rc1~git123", 0),
    ("1.0~rc1~git123", "1.0~rc1", -1),
    ("1.0~rc1", "1.0~rc1~git123", 1),
    ("1.0^", "1.0^", 0),
    ("1.0^", "1.0", 1),
    ("1.0", "1.0^", -1),
    ("1.0^git1", "1.0^git1", 0),
    ("1.0^git1", "1.0", 1),
    ("1.0", "1.0^git1", -1),
    ("1.0^git1", "1.0^git2", -1),
    ("1.0^git2", "1.0^git1", 1),
    ("1.0^git1", "1.01", -1),
    ("1.01", "1.0^git1", 1),
    ("1.0^20160101", "1.0^20160101", 0),
    ("1.0^20160101", "1.0.1", -1),
    ("1.0.1", "1.0^20160101", 1),
    ("1.0^20160101^git1", "1.0^20160101^git1", 0),
    ("1.0^20160102", "1.0^20160101^git1", 1),
    ("1.0^20160101^git1", "1.0^20160102", -1),
    ("1.0~rc1^git1", "1.0~rc1^git1", 0),
    ("1.0~rc1^git1", "1.0~rc1", 1),
    ("1.0~rc1", "1.0~rc1^git1", -1),
    ("1.0^git1~pre", "1.0^git1~pre", 0),
    ("1.0^git1", "1.0^git1~pre", 1),
    ("1.0^git1~pre", "1.0^git1", -1),
];

#[test]
fn rpm_rpmvercmp_at() {
    let bad: Vec<_> = RPM
        .iter()
        .filter(|(a, b, r)| rpmvercmp(a, b) != 0.cmp(&0).then(r.cmp(&0)))
        .collect();
    assert!(bad.is_empty(), "rpmvercmp wrong: {bad:?}");
}

fn chain(cmp: fn(&str, &str) -> Ordering, chain: &[&str]) {
    for (i, a) in chain.iter().enumerate() {
        for (j, b) in chain.iter().enumerate() {
            assert_eq!(cmp(a, b), i.cmp(&j), "{a} vs {b}");
        }
    }
}

#[test]
fn dpkg_policy_ordering() {
    chain(dpkg, &["1.0~~", "1.0~~a", "1.0~", "1.0", "1.0a"]);
    chain(
        dpkg,
        &[
            "1.0-1", "1.0-2", "1.0-10", "1.0a-1", "1.2.3-1", "1.2.10-1", "1:0.1-1", "2:0.0-1",
        ],
    );
    assert_eq!(dpkg("0:1.0", "1.0"), Ordering::Equal);
    assert_eq!(dpkg("3.0.11-1~deb12u2", "3.0.11-1"), Ordering::Less);
    assert_eq!(dpkg("2.36-9+deb12u4", "2.36-9+deb12u3"), Ordering::Greater);
    assert_eq!(dpkg("1.0+", "1.0"), Ordering::Greater);
}

#[test]
fn semver_spec_precedence() {
    chain(
        semver,
        &[
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "2.0.0",
            "2.1.0",
            "2.1.1",
        ],
    );
    assert_eq!(semver("v1.2.3", "1.2.3+build.5"), Ordering::Equal);
    assert_eq!(semver("v2.0.0+incompatible", "v1.9.9"), Ordering::Greater);
}

#[test]
fn pep440_summary_ordering() {
    chain(
        pep440,
        &[
            "1.dev0",
            "1.0.dev456",
            "1.0a1",
            "1.0a2.dev456",
            "1.0a12.dev456",
            "1.0a12",
            "1.0b1.dev456",
            "1.0b2",
            "1.0b2.post345.dev456",
            "1.0b2.post345",
            "1.0rc1.dev456",
            "1.0rc1",
            "1.0",
            "1.0+abc.5",
            "1.0+abc.7",
            "1.0+5",
            "1.0.post456.dev34",
            "1.0.post456",
            "1.0.15",
            "1.1.dev1",
        ],
    );
    assert_eq!(pep440("1.0", "1.0.0"), Ordering::Equal);
    assert_eq!(pep440("1!0.1", "2.0"), Ordering::Greater);
    assert_eq!(pep440("1.0-1", "1.0.post1"), Ordering::Equal);
}

#[test]
fn maven_version_order() {
    chain(
        maven,
        &[
            "1-alpha-1",
            "1-alpha-2",
            "1-beta-1",
            "1-milestone-1",
            "1-rc-1",
            "1-SNAPSHOT",
            "1",
            "1-sp-1",
            "1.1",
            "1.2-beta",
            "1.2",
            "2.0",
        ],
    );
    for (a, b) in [
        ("1", "1.0"),
        ("1", "1.0.0"),
        ("1-ga", "1"),
        ("1-final", "1"),
        ("1-release", "1"),
        ("1-cr-1", "1-rc-1"),
        ("1a1", "1-alpha-1"),
    ] {
        assert_eq!(maven(a, b), Ordering::Equal, "{a} = {b}");
    }
}
