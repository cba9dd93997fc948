//! The Pod Security Standards as ValidatingAdmissionPolicies.
//!
//! One policy per level (`<prefix>-baseline`, `<prefix>-restricted`); the restricted policy
//! holds the baseline controls too, minus the four the restricted level replaces
//! (upstream's `OverrideCheckIDs`). Each control is one CEL variable — the list of
//! offending fields and containers, empty when the pod complies — and one validation whose
//! message names the control (Palisade's check ID and upstream's control name) and what is
//! wrong, in Pod Security Admission's words:
//!
//! `PSS202 allowPrivilegeEscalation: allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false)`
//!
//! The semantics are those of `k8s.io/pod-security-admission` at v1.37 (the reference is
//! `palisade-checks`' `pss` module), including its version-dependent exemptions: Windows
//! pods (`spec.os.name: windows`) skip allowPrivilegeEscalation, seccompProfile_restricted
//! and capabilities_restricted; pods in a user namespace (`hostUsers: false`) skip
//! runAsNonRoot, runAsUser and the baseline procMount control.

use serde_json::{json, Map, Value};

use super::cel::{containers_phrase, join_quoted, lit, lit_list, noun_phrase, opt, set, when_any};
use super::{
    actions_json, check_actions, is_valid_name, ExportError, ValidationAction, API_VERSION,
};

/// The Pod Security Standards version the exported policies implement.
pub const PSS_VERSION: &str = "v1.37";

/// The label Pod Security Admission reads the enforced level from.
pub const ENFORCE_LABEL: &str = "pod-security.kubernetes.io/enforce";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PssLevel {
    Baseline,
    Restricted,
}

impl PssLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            PssLevel::Baseline => "baseline",
            PssLevel::Restricted => "restricted",
        }
    }

    pub fn parse(s: &str) -> Option<PssLevel> {
        match s.to_ascii_lowercase().as_str() {
            "baseline" => Some(PssLevel::Baseline),
            "restricted" => Some(PssLevel::Restricted),
            _ => None,
        }
    }
}

/// Which namespaces the bindings select.
#[derive(Clone, Debug, PartialEq)]
pub enum NamespaceSelection {
    /// Every namespace (less [`PssExportOptions::exempt_namespaces`]).
    All,
    /// Namespaces whose label `key` names this level, as Pod Security Admission reads
    /// `pod-security.kubernetes.io/enforce: restricted`. Apply both levels' policies to
    /// mirror the labels: a namespace labelled `baseline` gets the baseline policy, one
    /// labelled `restricted` the restricted policy.
    LevelLabel(String),
    /// A `metav1.LabelSelector` (`matchLabels`, `matchExpressions`) used as is.
    Selector(Value),
}

/// How the Pod Security Standards are exported.
#[derive(Clone, Debug, PartialEq)]
pub struct PssExportOptions {
    /// What the API server does with a violating Pod: `[Deny]` by default; `[Warn]`,
    /// `[Audit]`, `[Warn, Audit]`, `[Deny, Audit]` are the other useful sets.
    pub actions: Vec<ValidationAction>,
    /// Also check pod templates of workload kinds (Deployment, StatefulSet, DaemonSet,
    /// ReplicaSet, Job, CronJob, ReplicationController, PodTemplate), through a second
    /// binding with these actions. `Some([Warn, Audit])` by default, like Pod Security
    /// Admission, which warns about and audits workloads but enforces only on Pods;
    /// `None` checks Pods only.
    pub workload_actions: Option<Vec<ValidationAction>>,
    /// Which namespaces are checked: those labelled `pod-security.kubernetes.io/enforce:
    /// <level>` by default.
    pub namespaces: NamespaceSelection,
    /// Namespaces never checked (by `kubernetes.io/metadata.name`), like the admission
    /// configuration's `exemptions.namespaces`.
    pub exempt_namespaces: Vec<String>,
    /// Requesting users never checked (`exemptions.usernames`).
    pub exempt_usernames: Vec<String>,
    /// Pods with these `runtimeClassName`s are not checked (`exemptions.runtimeClasses`).
    pub exempt_runtime_classes: Vec<String>,
    /// Object names start with this: `<prefix>-<level>` for the policy and its binding,
    /// `<prefix>-<level>-workloads` for the workload binding.
    pub name_prefix: String,
}

impl Default for PssExportOptions {
    fn default() -> Self {
        PssExportOptions {
            actions: vec![ValidationAction::Deny],
            workload_actions: Some(vec![ValidationAction::Warn, ValidationAction::Audit]),
            namespaces: NamespaceSelection::LevelLabel(ENFORCE_LABEL.to_string()),
            exempt_namespaces: Vec::new(),
            exempt_usernames: Vec::new(),
            exempt_runtime_classes: Vec::new(),
            name_prefix: "palisade-pss".to_string(),
        }
    }
}

/// The ValidatingAdmissionPolicy of `level` and its bindings (one for Pods, and one for
/// workloads unless [`PssExportOptions::workload_actions`] is `None`).
pub fn pss_policies(level: PssLevel, opts: &PssExportOptions) -> Result<Vec<Value>, ExportError> {
    let actions = check_actions(&opts.actions)?;
    let workload_actions = opts
        .workload_actions
        .as_deref()
        .map(check_actions)
        .transpose()?;
    let name = format!("{}-{}", opts.name_prefix, level.as_str());
    let workload_binding = format!("{name}-workloads");
    for n in [&name, &workload_binding] {
        if !is_valid_name(n) {
            return Err(ExportError::InvalidName(n.clone()));
        }
    }
    let namespace_selector = namespace_selector(level, opts)?;

    let mut rules = vec![pod_rule()];
    if workload_actions.is_some() {
        rules.extend(workload_rules());
    }
    let mut match_conditions = vec![json!({
        "name": "pod-security-relevant-change",
        "expression": relevant_change(),
    })];
    if !opts.exempt_usernames.is_empty() {
        match_conditions.push(json!({
            "name": "not-an-exempt-user",
            "expression": format!("!(request.userInfo.username in {})", lit_list(&opts.exempt_usernames)),
        }));
    }

    let controls: Vec<&Control> = CONTROLS.iter().filter(|c| c.applies(level)).collect();
    let mut variables = common_variables(opts);
    variables.extend(
        controls
            .iter()
            .map(|c| json!({"name": c.var, "expression": (c.expr)()})),
    );
    let guard = if opts.exempt_runtime_classes.is_empty() {
        ""
    } else {
        "variables.exemptRuntimeClass || "
    };
    let validations: Vec<Value> = controls
        .iter()
        .map(|c| {
            let prefix = format!("{} {}: {}", c.id, c.control, c.reason);
            json!({
                "expression": format!("{guard}size(variables.{}) == 0", c.var),
                "messageExpression": format!(
                    "{} + variables.{}.join({}) + ')'",
                    lit(&format!("{prefix} (")),
                    c.var,
                    lit(c.sep)
                ),
                "message": format!("{prefix}: {}", c.summary),
                "reason": "Forbidden",
            })
        })
        .collect();

    let level_version = format!("{}:{PSS_VERSION}", level.as_str());
    let metadata = json!({
        "name": name,
        "labels": {"app.kubernetes.io/managed-by": "palisade"},
        "annotations": {"palisade.dev/pod-security": level_version},
    });
    let policy = json!({
        "apiVersion": API_VERSION,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": metadata,
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": rules,
            },
            "matchConditions": match_conditions,
            "variables": variables,
            "validations": validations,
        },
    });

    let mut out = vec![policy];
    let binding = |binding_name: &str, actions: &[ValidationAction], rules: Option<Vec<Value>>| {
        let mut match_resources = Map::new();
        if let Some(sel) = &namespace_selector {
            match_resources.insert("namespaceSelector".into(), sel.clone());
        }
        if let Some(rules) = rules {
            match_resources.insert("resourceRules".into(), Value::Array(rules));
        }
        let mut spec = Map::new();
        spec.insert("policyName".into(), json!(name));
        spec.insert("validationActions".into(), actions_json(actions));
        if !match_resources.is_empty() {
            spec.insert("matchResources".into(), Value::Object(match_resources));
        }
        json!({
            "apiVersion": API_VERSION,
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {
                "name": binding_name,
                "labels": {"app.kubernetes.io/managed-by": "palisade"},
                "annotations": {"palisade.dev/pod-security": level_version},
            },
            "spec": spec,
        })
    };
    match &workload_actions {
        None => out.push(binding(&name, &actions, None)),
        Some(wa) => {
            out.push(binding(&name, &actions, Some(vec![pod_rule()])));
            out.push(binding(&workload_binding, wa, Some(workload_rules())));
        }
    }
    Ok(out)
}

fn namespace_selector(
    level: PssLevel,
    opts: &PssExportOptions,
) -> Result<Option<Value>, ExportError> {
    let mut sel = match &opts.namespaces {
        NamespaceSelection::All => Map::new(),
        NamespaceSelection::LevelLabel(key) => {
            if key.is_empty() {
                return Err(ExportError::InvalidSelector("empty label key".into()));
            }
            let mut m = Map::new();
            m.insert(
                "matchLabels".into(),
                json!({ key.as_str(): level.as_str() }),
            );
            m
        }
        NamespaceSelection::Selector(v) => match v {
            Value::Object(m) => m.clone(),
            _ => {
                return Err(ExportError::InvalidSelector(
                    "a label selector must be a mapping".into(),
                ))
            }
        },
    };
    if !opts.exempt_namespaces.is_empty() {
        let exprs = sel
            .entry("matchExpressions")
            .or_insert_with(|| Value::Array(Vec::new()));
        let Value::Array(exprs) = exprs else {
            return Err(ExportError::InvalidSelector(
                "matchExpressions must be a list".into(),
            ));
        };
        exprs.push(json!({
            "key": "kubernetes.io/metadata.name",
            "operator": "NotIn",
            "values": opts.exempt_namespaces,
        }));
    }
    Ok((!sel.is_empty()).then_some(Value::Object(sel)))
}

/// Pods, and the `ephemeralcontainers` subresource (the one way to add a container to a
/// running pod). Pod Security Admission also evaluates unknown subresources; the others
/// Kubernetes 1.37 has (`status`, `binding`, `eviction`, `exec`, `attach`, `log`,
/// `portforward`, `proxy`, `resize`) cannot change a field the standards read.
fn pod_rule() -> Value {
    json!({
        "apiGroups": [""],
        "apiVersions": ["v1"],
        "operations": ["CREATE", "UPDATE"],
        "resources": ["pods", "pods/ephemeralcontainers"],
    })
}

fn workload_rules() -> Vec<Value> {
    vec![
        json!({
            "apiGroups": [""],
            "apiVersions": ["v1"],
            "operations": ["CREATE", "UPDATE"],
            "resources": ["podtemplates", "replicationcontrollers"],
        }),
        json!({
            "apiGroups": ["apps"],
            "apiVersions": ["v1"],
            "operations": ["CREATE", "UPDATE"],
            "resources": ["daemonsets", "deployments", "replicasets", "statefulsets"],
        }),
        json!({
            "apiGroups": ["batch"],
            "apiVersions": ["v1"],
            "operations": ["CREATE", "UPDATE"],
            "resources": ["cronjobs", "jobs"],
        }),
    ]
}

/// Updates are checked only when they can change what the standards read. For Pods this
/// is Pod Security Admission's rule (a container added or removed, an image changed, an
/// ephemeral container added), so labels, annotations and finalizers of a pod admitted
/// before the policy existed can still be changed; for workloads, a change of the pod
/// template.
fn relevant_change() -> String {
    let images = |o: &str, list: &str| {
        format!(
            "{}.map(c, {})",
            opt(o, &format!("spec.{list}"), "[]"),
            opt("c", "image", "''")
        )
    };
    let template = |o: &str| {
        format!(
            "({o}.kind == 'PodTemplate' ? {} : {o}.kind == 'CronJob' ? {} : {})",
            opt(o, "template", "{}"),
            opt(o, "spec.jobTemplate.spec.template", "{}"),
            opt(o, "spec.template", "{}"),
        )
    };
    format!(
        "request.operation != 'UPDATE' || oldObject == null ||\n\
         (object.kind == 'Pod' ?\n  \
           {} != {} ||\n  \
           {} != {} ||\n  \
           {}.exists(c, !{}.exists(o, o.name == c.name && {} == {}))\n\
         : {} != {})",
        images("object", "containers"),
        images("oldObject", "containers"),
        images("object", "initContainers"),
        images("oldObject", "initContainers"),
        opt("object", "spec.ephemeralContainers", "[]"),
        opt("oldObject", "spec.ephemeralContainers", "[]"),
        opt("o", "image", "''"),
        opt("c", "image", "''"),
        template("object"),
        template("oldObject"),
    )
}

fn common_variables(opts: &PssExportOptions) -> Vec<Value> {
    let by_kind = |field: &str| {
        format!(
            "object.kind == 'Pod' ? {} :\nobject.kind == 'PodTemplate' ? {} :\nobject.kind == 'CronJob' ? {} :\n{}",
            opt("object", field, "{}"),
            opt("object", &format!("template.{field}"), "{}"),
            opt("object", &format!("spec.jobTemplate.spec.template.{field}"), "{}"),
            opt("object", &format!("spec.template.{field}"), "{}"),
        )
    };
    let s = "variables.podSpec";
    let mut v = vec![
        json!({"name": "podMetadata", "expression": by_kind("metadata")}),
        json!({"name": "podSpec", "expression": by_kind("spec")}),
        json!({"name": "podSecurityContext", "expression": opt(s, "securityContext", "{}")}),
        json!({
            "name": "containers",
            "expression": format!(
                "{} +\n{} +\n{}",
                opt(s, "initContainers", "[]"),
                opt(s, "containers", "[]"),
                opt(s, "ephemeralContainers", "[]")
            ),
        }),
        json!({"name": "volumes", "expression": opt(s, "volumes", "[]")}),
        json!({"name": "isWindows", "expression": format!("{} == 'windows'", opt(s, "os.name", "''"))}),
        json!({"name": "userNamespace", "expression": format!("{} == false", opt(s, "hostUsers", "true"))}),
    ];
    if !opts.exempt_runtime_classes.is_empty() {
        v.push(json!({
            "name": "exemptRuntimeClass",
            "expression": format!(
                "{} in {}",
                opt(s, "runtimeClassName", "''"),
                lit_list(&opts.exempt_runtime_classes)
            ),
        }));
    }
    v
}

/// One Pod Security Standards control.
struct Control {
    /// Palisade's check ID.
    id: &'static str,
    /// Upstream's control ID.
    control: &'static str,
    /// The CEL variable holding the details (a list of strings).
    var: &'static str,
    /// Pod Security Admission's `ForbiddenReason`.
    reason: &'static str,
    /// The static message's explanation (used when `messageExpression` fails).
    summary: &'static str,
    /// How details are joined.
    sep: &'static str,
    level: PssLevel,
    /// A baseline control the restricted level replaces.
    overridden: bool,
    expr: fn() -> String,
}

impl Control {
    fn applies(&self, level: PssLevel) -> bool {
        match level {
            PssLevel::Baseline => self.level == PssLevel::Baseline,
            PssLevel::Restricted => !self.overridden,
        }
    }
}

const C: &str = "variables.containers";
const SC: &str = "variables.podSecurityContext";

const DEFAULT_CAPABILITIES: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

const SELINUX_TYPES: &[&str] = &[
    "",
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

const SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
    "net.ipv4.tcp_slow_start_after_idle",
    "net.ipv4.tcp_notsent_lowat",
];

// The volume lists are the built-in check's, so the two engines cannot drift apart.
use palisade_checks::pss::{ALLOWED_VOLUMES, FORBIDDEN_VOLUMES};

const VALID_PROFILES: &str = "['RuntimeDefault', 'Localhost']";

/// `container "name"`.
fn container_label() -> &'static str {
    "'container \"' + string(c.name) + '\"'"
}

/// Names of the containers for which `pred` (over `c`) holds.
fn containers_where(pred: &str) -> String {
    format!("{C}.filter(c, {pred}).map(c, c.name)")
}

/// One detail per container for which `pred` holds: `container "x"` + `suffix`.
fn per_container(pred: &str, suffix: &str) -> String {
    format!(
        "{C}.filter(c, {pred}).map(c, {} + {suffix})",
        container_label()
    )
}

fn host_namespaces() -> String {
    "['hostNetwork', 'hostPID', 'hostIPC'].filter(f, f in variables.podSpec && variables.podSpec[f] == true).map(f, f + '=true')".into()
}

fn privileged() -> String {
    when_any(
        &containers_where(&format!(
            "{} == true",
            opt("c", "securityContext.privileged", "false")
        )),
        &format!(
            "{} + ' must not set securityContext.privileged=true'",
            containers_phrase("l")
        ),
    )
}

fn capabilities_baseline() -> String {
    let allowed = lit_list(DEFAULT_CAPABILITIES);
    per_container(
        &format!(
            "{}.exists(a, !(a in {allowed}))",
            opt("c", "securityContext.capabilities.add", "[]")
        ),
        &format!(
            "' must not include ' + {} + ' in securityContext.capabilities.add'",
            join_quoted(
                &format!("c.securityContext.capabilities.add.filter(a, !(a in {allowed}))"),
                "a"
            )
        ),
    )
}

fn host_path_volumes() -> String {
    when_any(
        &format!(
            "variables.volumes.filter(v, {}).map(v, v.name)",
            set("v", "hostPath")
        ),
        &noun_phrase("l", "volume", "volumes"),
    )
}

fn host_ports() -> String {
    let nonzero = format!("{} && p.hostPort != 0", set("p", "hostPort"));
    per_container(
        &format!("{}.exists(p, {nonzero})", opt("c", "ports", "[]")),
        &format!(
            "[c.ports.filter(p, {nonzero}).map(p, string(p.hostPort))].map(h, (size(h) == 1 ? ' uses hostPort ' : ' uses hostPorts ') + h.join(', '))[0]"
        ),
    )
}

fn app_armor_profile() -> String {
    let bad = |o: &str| format!("!({} in {VALID_PROFILES})", opt(o, "type", "''"));
    let value = |o: &str| format!("string({})", opt(o, "type", "''"));
    let pod = format!(
        "[{SC}].filter(s, {} && {}).map(s, 'pod must not set AppArmor profile type to \"' + {} + '\"')",
        set("s", "appArmorProfile"),
        bad("s.appArmorProfile"),
        value("s.appArmorProfile")
    );
    let containers = per_container(
        &format!(
            "{} && {}",
            set("c", "securityContext.appArmorProfile"),
            bad("c.securityContext.appArmorProfile")
        ),
        &format!(
            "' must not set AppArmor profile type to \"' + {} + '\"'",
            value("c.securityContext.appArmorProfile")
        ),
    );
    let ann = opt("variables.podMetadata", "annotations", "{}");
    let annotations = format!(
        "[{ann}].map(m, m.filter(k, k.startsWith('container.apparmor.security.beta.kubernetes.io/') && !(string(m[k]) == '' || string(m[k]) == 'runtime/default' || string(m[k]).startsWith('localhost/'))).map(k, 'annotation ' + k + '=\"' + string(m[k]) + '\" must not set a forbidden AppArmor profile'))[0]"
    );
    format!("{pod} +\n{containers} +\n{annotations}")
}

fn se_linux_options() -> String {
    let types = lit_list(SELINUX_TYPES);
    let bad = |o: &str| {
        format!(
            "(!({} in {types}) || {} != '' || {} != '')",
            opt(o, "type", "''"),
            opt(o, "user", "''"),
            opt(o, "role", "''")
        )
    };
    let detail = |o: &str| {
        format!(
            "((!({t} in {types}) ? ['type \"' + string({t}) + '\"'] : []) + ({u} != '' ? ['user may not be set'] : []) + ({r} != '' ? ['role may not be set'] : [])).join(', ')",
            t = opt(o, "type", "''"),
            u = opt(o, "user", "''"),
            r = opt(o, "role", "''"),
        )
    };
    let pod = format!(
        "[{SC}].filter(s, {} && {}).map(s, 'pod sets forbidden securityContext.seLinuxOptions: ' + {})",
        set("s", "seLinuxOptions"),
        bad("s.seLinuxOptions"),
        detail("s.seLinuxOptions")
    );
    let o = "c.securityContext.seLinuxOptions";
    let containers = per_container(
        &format!(
            "{} && {}",
            set("c", "securityContext.seLinuxOptions"),
            bad(o)
        ),
        &format!(
            "' sets forbidden securityContext.seLinuxOptions: ' + {}",
            detail(o)
        ),
    );
    format!("{pod} +\n{containers}")
}

fn proc_mount_details() -> String {
    per_container(
        &format!(
            "{} && c.securityContext.procMount != 'Default'",
            set("c", "securityContext.procMount")
        ),
        "' must not set securityContext.procMount to \"' + string(c.securityContext.procMount) + '\"'",
    )
}

fn proc_mount() -> String {
    format!("variables.userNamespace ? [] :\n{}", proc_mount_details())
}

fn proc_mount_restricted() -> String {
    proc_mount_details()
}

/// Pod and containers that set a seccomp profile type other than RuntimeDefault or
/// Localhost.
fn seccomp_explicit() -> String {
    let bad = |o: &str| format!("!({} in {VALID_PROFILES})", opt(o, "type", "''"));
    let value = |o: &str| format!("string({})", opt(o, "type", "''"));
    let pod = format!(
        "[{SC}].filter(s, {} && {}).map(s, 'pod must not set securityContext.seccompProfile.type to \"' + {} + '\"')",
        set("s", "seccompProfile"),
        bad("s.seccompProfile"),
        value("s.seccompProfile")
    );
    let o = "c.securityContext.seccompProfile";
    let containers = per_container(
        &format!(
            "{} && {}",
            set("c", "securityContext.seccompProfile"),
            bad(o)
        ),
        &format!(
            "' must not set securityContext.seccompProfile.type to \"' + {} + '\"'",
            value(o)
        ),
    );
    format!("{pod} +\n{containers}")
}

fn seccomp_baseline() -> String {
    seccomp_explicit()
}

fn seccomp_restricted() -> String {
    let pod_set = format!(
        "({} && {} in {VALID_PROFILES})",
        set(SC, "seccompProfile"),
        opt(&format!("{SC}.seccompProfile"), "type", "''")
    );
    let implicit = when_any(
        &containers_where(&format!(
            "!({}) && !{pod_set}",
            set("c", "securityContext.seccompProfile")
        )),
        &format!(
            "'pod or ' + {} + ' must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"'",
            containers_phrase("l")
        ),
    );
    format!(
        "variables.isWindows ? [] : (\n{} +\n{implicit})",
        seccomp_explicit()
    )
}

fn sysctls() -> String {
    format!(
        "{}.filter(s, !({} in {})).map(s, string({}))",
        opt(SC, "sysctls", "[]"),
        opt("s", "name", "''"),
        lit_list(SAFE_SYSCTLS),
        opt("s", "name", "''"),
    )
}

fn windows_host_process() -> String {
    format!(
        "({} == true ? ['pod must not set securityContext.windowsOptions.hostProcess=true'] : []) +\n{}",
        opt(SC, "windowsOptions.hostProcess", "false"),
        when_any(
            &containers_where(&format!(
                "{} == true",
                opt("c", "securityContext.windowsOptions.hostProcess", "false")
            )),
            &format!(
                "{} + ' must not set securityContext.windowsOptions.hostProcess=true'",
                containers_phrase("l")
            ),
        )
    )
}

fn host_probes_and_host_lifecycle() -> String {
    let mut hosts = Vec::new();
    for handler in [
        "livenessProbe",
        "readinessProbe",
        "startupProbe",
        "lifecycle.postStart",
        "lifecycle.preStop",
    ] {
        for action in ["httpGet", "tcpSocket"] {
            hosts.push(opt("c", &format!("{handler}.{action}.host"), "''"));
        }
    }
    format!(
        "{C}.map(c, [[{}].filter(x, x != '')].map(h, size(h) == 0 ? '' : {} + (size(h) == 1 ? ' uses probe or lifecycle host ' : ' uses probe or lifecycle hosts ') + {})[0]).filter(d, d != '')",
        hosts.join(", "),
        container_label(),
        join_quoted("h", "x"),
    )
}

fn restricted_volumes() -> String {
    let sources = "v.filter(k, k != 'name' && v[k] != null)";
    format!(
        "variables.volumes.map(v, [{sources}].map(src, size(src) == 0 || src.exists(s, s in {allowed}) ? '' : 'volume \"' + string(v.name) + '\" uses restricted volume type \"' + (src.exists(s, s in {forbidden}) ? {forbidden}.filter(s, s in src)[0] : src[0]) + '\"')[0]).filter(d, d != '')",
        allowed = lit_list(ALLOWED_VOLUMES),
        forbidden = lit_list(FORBIDDEN_VOLUMES),
    )
}

fn allow_privilege_escalation() -> String {
    format!(
        "variables.isWindows ? [] :\n{}",
        when_any(
            &containers_where(&format!(
                "{} != false",
                opt("c", "securityContext.allowPrivilegeEscalation", "null")
            )),
            &format!(
                "{} + ' must set securityContext.allowPrivilegeEscalation=false'",
                containers_phrase("l")
            ),
        )
    )
}

fn run_as_non_root() -> String {
    let pod_value = opt(SC, "runAsNonRoot", "null");
    let container_value = opt("c", "securityContext.runAsNonRoot", "null");
    format!(
        "variables.userNamespace ? [] : (\n({pod_value} == false ? ['pod must not set securityContext.runAsNonRoot=false'] : []) +\n{} +\n{})",
        when_any(
            &containers_where(&format!("{container_value} != null && {container_value} != true")),
            &format!("{} + ' must not set securityContext.runAsNonRoot=false'", containers_phrase("l")),
        ),
        when_any(
            &containers_where(&format!("{container_value} == null && {pod_value} != true")),
            &format!("'pod or ' + {} + ' must set securityContext.runAsNonRoot=true'", containers_phrase("l")),
        ),
    )
}

fn run_as_user() -> String {
    format!(
        "variables.userNamespace ? [] : (\n({} == 0 ? ['pod must not set runAsUser=0'] : []) +\n{})",
        opt(SC, "runAsUser", "-1"),
        when_any(
            &containers_where(&format!("{} == 0", opt("c", "securityContext.runAsUser", "-1"))),
            &format!("{} + ' must not set runAsUser=0'", containers_phrase("l")),
        ),
    )
}

fn capabilities_restricted() -> String {
    let missing_drop = when_any(
        &containers_where(&format!(
            "!{}.exists(d, d == 'ALL')",
            opt("c", "securityContext.capabilities.drop", "[]")
        )),
        &format!(
            "{} + ' must set securityContext.capabilities.drop=[\"ALL\"]'",
            containers_phrase("l")
        ),
    );
    let adding = per_container(
        &format!(
            "{}.exists(a, a != 'NET_BIND_SERVICE')",
            opt("c", "securityContext.capabilities.add", "[]")
        ),
        &format!(
            "' must not include ' + {} + ' in securityContext.capabilities.add'",
            join_quoted(
                "c.securityContext.capabilities.add.filter(a, a != 'NET_BIND_SERVICE')",
                "a"
            )
        ),
    );
    format!("variables.isWindows ? [] : (\n{missing_drop} +\n{adding})")
}

/// Every control, in the order of `palisade-checks`' catalog.
const CONTROLS: &[Control] = &[
    Control {
        id: "PSS101",
        control: "hostNamespaces",
        var: "hostNamespaces",
        reason: "host namespaces",
        summary: "pods must not set hostNetwork, hostPID or hostIPC to true",
        sep: ", ",
        level: PssLevel::Baseline,
        overridden: false,
        expr: host_namespaces,
    },
    Control {
        id: "PSS102",
        control: "privileged",
        var: "privileged",
        reason: "privileged",
        summary: "containers must not set securityContext.privileged=true",
        sep: "; ",
        level: PssLevel::Baseline,
        overridden: false,
        expr: privileged,
    },
    Control {
        id: "PSS103",
        control: "capabilities_baseline",
        var: "capabilitiesBaseline",
        reason: "non-default capabilities",
        summary: "containers must not add capabilities beyond the default set",
        sep: "; ",
        level: PssLevel::Baseline,
        overridden: true,
        expr: capabilities_baseline,
    },
    Control {
        id: "PSS104",
        control: "hostPathVolumes",
        var: "hostPathVolumes",
        reason: "hostPath volumes",
        summary: "pods must not use hostPath volumes",
        sep: "; ",
        level: PssLevel::Baseline,
        overridden: true,
        expr: host_path_volumes,
    },
    Control {
        id: "PSS105",
        control: "hostPorts",
        var: "hostPorts",
        reason: "hostPort",
        summary: "containers must not use hostPorts",
        sep: "; ",
        level: PssLevel::Baseline,
        overridden: false,
        expr: host_ports,
    },
    Control {
        id: "PSS106",
        control: "appArmorProfile",
        var: "appArmorProfile",
        reason: "forbidden AppArmor profile",
        summary: "AppArmor profiles must be RuntimeDefault or Localhost",
        sep: "; ",
        level: PssLevel::Baseline,
        overridden: false,
        expr: app_armor_profile,
    },
    Control {
        id: "PSS107",
        control: "seLinuxOptions",
        var: "seLinuxOptions",
        reason: "seLinuxOptions",
        summary: "seLinuxOptions must not set user or role, and only container types",
        sep: "; ",
        level: PssLevel::Baseline,
        overridden: false,
        expr: se_linux_options,
    },
    Control {
        id: "PSS108",
        control: "procMount",
        var: "procMount",
        reason: "procMount",
        summary: "containers must not set securityContext.procMount other than Default",
        sep: "; ",
        level: PssLevel::Baseline,
        overridden: true,
        expr: proc_mount,
    },
    Control {
        id: "PSS109",
        control: "seccompProfile_baseline",
        var: "seccompProfileBaseline",
        reason: "seccompProfile",
        summary: "seccompProfile.type must be RuntimeDefault or Localhost",
        sep: "; ",
        level: PssLevel::Baseline,
        overridden: true,
        expr: seccomp_baseline,
    },
    Control {
        id: "PSS110",
        control: "sysctls",
        var: "sysctls",
        reason: "forbidden sysctls",
        summary: "pods must set only safe sysctls",
        sep: ", ",
        level: PssLevel::Baseline,
        overridden: false,
        expr: sysctls,
    },
    Control {
        id: "PSS111",
        control: "windowsHostProcess",
        var: "windowsHostProcess",
        reason: "hostProcess",
        summary: "pods and containers must not set securityContext.windowsOptions.hostProcess=true",
        sep: "; ",
        level: PssLevel::Baseline,
        overridden: false,
        expr: windows_host_process,
    },
    Control {
        id: "PSS112",
        control: "hostProbesAndHostLifecycle",
        var: "hostProbesAndHostLifecycle",
        reason: "probe or lifecycle host",
        summary: "probes and lifecycle handlers must not set host",
        sep: "; ",
        level: PssLevel::Baseline,
        overridden: false,
        expr: host_probes_and_host_lifecycle,
    },
    Control {
        id: "PSS201",
        control: "restrictedVolumes",
        var: "restrictedVolumes",
        reason: "restricted volume types",
        summary: "volumes must be configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected or secret",
        sep: "; ",
        level: PssLevel::Restricted,
        overridden: false,
        expr: restricted_volumes,
    },
    Control {
        id: "PSS202",
        control: "allowPrivilegeEscalation",
        var: "allowPrivilegeEscalation",
        reason: "allowPrivilegeEscalation != false",
        summary: "containers must set securityContext.allowPrivilegeEscalation=false",
        sep: "; ",
        level: PssLevel::Restricted,
        overridden: false,
        expr: allow_privilege_escalation,
    },
    Control {
        id: "PSS203",
        control: "runAsNonRoot",
        var: "runAsNonRoot",
        reason: "runAsNonRoot != true",
        summary: "pod or containers must set securityContext.runAsNonRoot=true",
        sep: "; ",
        level: PssLevel::Restricted,
        overridden: false,
        expr: run_as_non_root,
    },
    Control {
        id: "PSS204",
        control: "runAsUser",
        var: "runAsUser",
        reason: "runAsUser=0",
        summary: "pod and containers must not set runAsUser=0",
        sep: "; ",
        level: PssLevel::Restricted,
        overridden: false,
        expr: run_as_user,
    },
    Control {
        id: "PSS205",
        control: "seccompProfile_restricted",
        var: "seccompProfileRestricted",
        reason: "seccompProfile",
        summary: "pod or containers must set securityContext.seccompProfile.type to RuntimeDefault or Localhost",
        sep: "; ",
        level: PssLevel::Restricted,
        overridden: false,
        expr: seccomp_restricted,
    },
    Control {
        id: "PSS206",
        control: "capabilities_restricted",
        var: "capabilitiesRestricted",
        reason: "unrestricted capabilities",
        summary: "containers must drop ALL capabilities and add only NET_BIND_SERVICE",
        sep: "; ",
        level: PssLevel::Restricted,
        overridden: false,
        expr: capabilities_restricted,
    },
    Control {
        id: "PSS207",
        control: "procMount_restricted",
        var: "procMountRestricted",
        reason: "procMount",
        summary: "containers must not set securityContext.procMount other than Default",
        sep: "; ",
        level: PssLevel::Restricted,
        overridden: false,
        expr: proc_mount_restricted,
    },
];

/// The Palisade check IDs each level's policy implements, in validation order.
pub fn control_ids(level: PssLevel) -> Vec<&'static str> {
    CONTROLS
        .iter()
        .filter(|c| c.applies(level))
        .map(|c| c.id)
        .collect()
}
