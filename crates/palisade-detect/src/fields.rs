//! Field tables: every field a rule may use, per event source, with its type, whether it
//! yields a list, its argument, and a description (`palisade detect fields`).
//!
//! `k8s_audit` follows the k8saudit plugin's fields (names and semantics) and the json
//! plugin's `jevt.*`; `syscall` covers the fields of Falco's syscall rules that a recorded
//! event (Palisade's JSON format, or Tetragon's export) can carry.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    Str,
    U64,
    I64,
    Bool,
    /// An IP address (compared as text; `in` accepts CIDRs).
    Ip,
    /// A network (compared by containment of the event's address).
    IpNet,
    Bytes,
    /// Nanoseconds (durations and timestamps).
    Time,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Str => "string",
            FieldType::U64 => "uint64",
            FieldType::I64 => "int64",
            FieldType::Bool => "bool",
            FieldType::Ip => "ipaddr",
            FieldType::IpNet => "ipnet",
            FieldType::Bytes => "bytebuf",
            FieldType::Time => "time",
        }
    }
    pub fn numeric(self) -> bool {
        matches!(self, FieldType::U64 | FieldType::I64 | FieldType::Time)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    None,
    /// `[n]`, optional.
    Index,
    /// `[key]`, optional.
    Key,
    /// `[key]`, required.
    KeyRequired,
    /// `[/json/pointer]`, required.
    Pointer,
}

#[derive(Clone, Copy, Debug)]
pub struct FieldDef {
    pub name: &'static str,
    pub ty: FieldType,
    pub list: bool,
    pub arg: Arg,
    pub desc: &'static str,
}

const fn f(name: &'static str, ty: FieldType, list: bool, arg: Arg, desc: &'static str) -> FieldDef {
    FieldDef { name, ty, list, arg, desc }
}

use Arg::*;
use FieldType::*;

/// Fields every source has.
pub const COMMON: &[FieldDef] = &[
    f("evt.num", U64, false, None, "Event number, in the order events were read"),
    f("evt.time", Str, false, None, "Event timestamp as HH:MM:SS.nnnnnnnnn (UTC)"),
    f("evt.time.s", Str, false, None, "Event timestamp as HH:MM:SS (UTC)"),
    f("evt.time.iso8601", Str, false, None, "Event timestamp in ISO 8601 with nanoseconds (UTC)"),
    f("evt.datetime", Str, false, None, "Event timestamp as YYYY-MM-DD HH:MM:SS.nnnnnnnnn (UTC)"),
    f("evt.rawtime", Time, false, None, "Event timestamp in nanoseconds since the epoch"),
    f("evt.source", Str, false, None, "The event source (syscall, k8s_audit)"),
    f("evt.hostname", Str, false, None, "The host the event was observed on"),
];

pub const K8S_AUDIT: &[FieldDef] = &[
    f("ka.auditid", Str, false, None, "The unique id of the audit event"),
    f("ka.stage", Str, false, None, "Stage of the request (RequestReceived, ResponseStarted, ResponseComplete, Panic)"),
    f("ka.auth.decision", Str, false, None, "The authorization decision (annotation authorization.k8s.io/decision)"),
    f("ka.auth.reason", Str, false, None, "The authorization reason (annotation authorization.k8s.io/reason)"),
    f("ka.auth.openshift.decision", Str, false, None, "The authentication decision of the OpenShift API server extension"),
    f("ka.auth.openshift.username", Str, false, None, "The user name of the OpenShift authentication"),
    f("ka.validations.admission.policy.failure", Str, false, None, "The validation failure reason from a ValidatingAdmissionPolicy"),
    f("ka.security.pod.violations", Str, false, None, "The Pod Security admission audit violations"),
    f("ka.user.name", Str, false, None, "The user name performing the request"),
    f("ka.user.groups", Str, true, None, "The groups to which the user belongs"),
    f("ka.impuser.name", Str, false, None, "The impersonated user name"),
    f("ka.verb", Str, false, None, "The action being performed"),
    f("ka.uri", Str, false, None, "The request URI as sent from client to server"),
    f("ka.uri.param", Str, false, KeyRequired, "The value of a query parameter of the URI (ka.uri.param[key])"),
    f("ka.target.name", Str, false, None, "The target object name"),
    f("ka.target.namespace", Str, false, None, "The target object namespace"),
    f("ka.target.resource", Str, false, None, "The target object resource"),
    f("ka.target.subresource", Str, false, None, "The target object subresource"),
    f("ka.target.pod.name", Str, false, None, "The target pod name (pods without subresource)"),
    f("ka.req.binding.subjects", Str, true, None, "The subjects of a (cluster) role binding in the request"),
    f("ka.req.binding.subjects.user_names", Str, true, None, "The user names among the binding's subjects"),
    f("ka.req.binding.subjects.serviceaccount_names", Str, true, None, "The service account names among the binding's subjects"),
    f("ka.req.binding.subjects.serviceaccount_ns_names", Str, true, None, "The service accounts among the binding's subjects as namespace:name"),
    f("ka.req.binding.subjects.group_names", Str, true, None, "The group names among the binding's subjects"),
    f("ka.req.binding.role", Str, false, None, "The role a binding in the request links to"),
    f("ka.req.binding.subject.has_name", Str, false, KeyRequired, "Deprecated: always true; kept for old rules"),
    f("ka.req.configmap.name", Str, false, None, "The name of the configmap in the request"),
    f("ka.req.configmap.obj", Str, false, None, "The data of the configmap in the request, as JSON"),
    f("ka.req.pod.containers.args", Str, true, Index, "The containers' args, each joined by spaces"),
    f("ka.req.pod.containers.command", Str, true, Index, "The containers' commands, each joined by spaces"),
    f("ka.req.pod.containers.name", Str, true, Index, "The containers' names"),
    f("ka.req.pod.containers.image", Str, true, Index, "The containers' images"),
    f("ka.req.pod.containers.image.repository", Str, true, Index, "The containers' image repositories (no tag or digest)"),
    f("ka.req.pod.containers.host_port", Str, true, Index, "The containers' host ports"),
    f("ka.req.pod.containers.privileged", Str, true, Index, "The containers' securityContext.privileged flags (containers that set it)"),
    f("ka.req.pod.containers.allow_privilege_escalation", Str, true, Index, "The containers' allowPrivilegeEscalation flags"),
    f("ka.req.pod.containers.read_only_fs", Str, true, Index, "The containers' readOnlyRootFilesystem flags"),
    f("ka.req.pod.containers.run_as_user", Str, true, Index, "The containers' runAsUser"),
    f("ka.req.pod.containers.eff_run_as_user", Str, true, Index, "The uid each container starts with (container, else pod, else 0)"),
    f("ka.req.pod.containers.run_as_group", Str, true, Index, "The containers' runAsGroup"),
    f("ka.req.pod.containers.eff_run_as_group", Str, true, Index, "The gid each container starts with (container, else pod, else 0)"),
    f("ka.req.pod.containers.proc_mount", Str, true, Index, "The containers' procMount types"),
    f("ka.req.pod.containers.add_capabilities", Str, true, Index, "The capabilities the containers add"),
    f("ka.req.pod.initContainers.args", Str, true, Index, "The init containers' args"),
    f("ka.req.pod.initContainers.command", Str, true, Index, "The init containers' commands"),
    f("ka.req.pod.initContainers.name", Str, true, Index, "The init containers' names"),
    f("ka.req.pod.initContainers.image", Str, true, Index, "The init containers' images"),
    f("ka.req.pod.initContainers.image.repository", Str, true, Index, "The init containers' image repositories"),
    f("ka.req.pod.initContainers.host_port", Str, true, Index, "The init containers' host ports"),
    f("ka.req.pod.initContainers.privileged", Str, true, Index, "The init containers' privileged flags"),
    f("ka.req.pod.initContainers.allow_privilege_escalation", Str, true, Index, "The init containers' allowPrivilegeEscalation flags"),
    f("ka.req.pod.initContainers.read_only_fs", Str, true, Index, "The init containers' readOnlyRootFilesystem flags"),
    f("ka.req.pod.initContainers.run_as_user", Str, true, Index, "The init containers' runAsUser"),
    f("ka.req.pod.initContainers.eff_run_as_user", Str, true, Index, "The uid each init container starts with"),
    f("ka.req.pod.initContainers.run_as_group", Str, true, Index, "The init containers' runAsGroup"),
    f("ka.req.pod.initContainers.eff_run_as_group", Str, true, Index, "The gid each init container starts with"),
    f("ka.req.pod.initContainers.proc_mount", Str, true, Index, "The init containers' procMount types"),
    f("ka.req.pod.initContainers.add_capabilities", Str, true, Index, "The capabilities the init containers add"),
    f("ka.req.pod.ephemeralContainers.args", Str, true, Index, "The ephemeral containers' args"),
    f("ka.req.pod.ephemeralContainers.command", Str, true, Index, "The ephemeral containers' commands"),
    f("ka.req.pod.ephemeralContainers.name", Str, true, Index, "The ephemeral containers' names"),
    f("ka.req.pod.ephemeralContainers.image", Str, true, Index, "The ephemeral containers' images"),
    f("ka.req.pod.ephemeralContainers.image.repository", Str, true, Index, "The ephemeral containers' image repositories"),
    f("ka.req.pod.ephemeralContainers.host_port", Str, true, Index, "The ephemeral containers' host ports"),
    f("ka.req.pod.ephemeralContainers.privileged", Str, true, Index, "The ephemeral containers' privileged flags"),
    f("ka.req.pod.ephemeralContainers.allow_privilege_escalation", Str, true, Index, "The ephemeral containers' allowPrivilegeEscalation flags"),
    f("ka.req.pod.ephemeralContainers.read_only_fs", Str, true, Index, "The ephemeral containers' readOnlyRootFilesystem flags"),
    f("ka.req.pod.ephemeralContainers.run_as_user", Str, true, Index, "The ephemeral containers' runAsUser"),
    f("ka.req.pod.ephemeralContainers.eff_run_as_user", Str, true, Index, "The uid each ephemeral container starts with"),
    f("ka.req.pod.ephemeralContainers.run_as_group", Str, true, Index, "The ephemeral containers' runAsGroup"),
    f("ka.req.pod.ephemeralContainers.eff_run_as_group", Str, true, Index, "The gid each ephemeral container starts with"),
    f("ka.req.pod.ephemeralContainers.proc_mount", Str, true, Index, "The ephemeral containers' procMount types"),
    f("ka.req.pod.ephemeralContainers.add_capabilities", Str, true, Index, "The capabilities the ephemeral containers add"),
    f("ka.req.container.image", Str, false, None, "Deprecated: the image of the first container"),
    f("ka.req.container.image.repository", Str, false, None, "Deprecated: the image repository of the first container"),
    f("ka.req.container.privileged", Str, false, None, "Deprecated: true if any container is privileged"),
    f("ka.req.container.host_network", Str, false, None, "Deprecated alias of ka.req.pod.host_network"),
    f("ka.req.pod.host_ipc", Str, false, None, "The pod's hostIPC flag"),
    f("ka.req.pod.host_network", Str, false, None, "The pod's hostNetwork flag"),
    f("ka.req.pod.host_pid", Str, false, None, "The pod's hostPID flag"),
    f("ka.req.pod.run_as_user", Str, false, None, "The pod's securityContext.runAsUser"),
    f("ka.req.pod.run_as_group", Str, false, None, "The pod's securityContext.runAsGroup"),
    f("ka.req.pod.fs_group", Str, false, None, "The pod's securityContext.fsGroup"),
    f("ka.req.pod.supplemental_groups", Str, true, None, "The pod's securityContext.supplementalGroups"),
    f("ka.req.pod.volumes.hostpath", Str, true, Index, "The hostPath paths of the pod's volumes"),
    f("ka.req.volume.hostpath", Str, false, KeyRequired, "Deprecated: true if a hostPath volume uses the path (a trailing * is a prefix)"),
    f("ka.req.pod.volumes.flexvolume_driver", Str, true, Index, "The flexVolume drivers of the pod's volumes"),
    f("ka.req.pod.volumes.volume_type", Str, true, Index, "The types of the pod's volumes"),
    f("ka.req.role.rules", Str, true, None, "The rules of a (cluster) role in the request"),
    f("ka.req.role.rules.apiGroups", Str, true, Index, "The api groups of the role's rules"),
    f("ka.req.role.rules.nonResourceURLs", Str, true, Index, "The non-resource URLs of the role's rules"),
    f("ka.req.role.rules.verbs", Str, true, Index, "The verbs of the role's rules"),
    f("ka.req.role.rules.resources", Str, true, Index, "The resources of the role's rules"),
    f("ka.req.service.type", Str, false, None, "The type of the service in the request"),
    f("ka.req.service.ports", Str, true, Index, "The ports of the service in the request"),
    f("ka.resp.name", Str, false, None, "The response object's name"),
    f("ka.response.code", Str, false, None, "The response code"),
    f("ka.response.reason", Str, false, None, "The response reason (usually only for failures)"),
    f("ka.useragent", Str, false, None, "The user agent of the client"),
    f("ka.sourceips", Str, true, Index, "The client's IP addresses"),
    f("ka.cluster.name", Str, false, None, "The cluster name (annotation cluster_name)"),
    f("jevt.value", Str, false, Pointer, "The value at a JSON pointer in the event (jevt.value[/objectRef/resource])"),
    f("jevt.obj", Str, false, None, "The whole event as JSON"),
    f("jevt.time", Str, false, None, "The event timestamp as HH:MM:SS.nnnnnnnnn"),
    f("jevt.time.iso8601", Str, false, None, "The event timestamp in ISO 8601"),
    f("jevt.rawtime", Time, false, None, "The event timestamp in nanoseconds since the epoch"),
];

pub const SYSCALL: &[FieldDef] = &[
    f("evt.type", Str, false, None, "The event type (execve, openat, connect, …)"),
    f("evt.dir", Str, false, None, "Event direction: > for enter, < for exit"),
    f("evt.cpu", I64, false, None, "The CPU the event happened on"),
    f("evt.args", Str, false, None, "All event arguments as one string"),
    f("evt.arg", Str, false, Key, "An event argument by name or index (evt.arg.flags, evt.arg[0])"),
    f("evt.rawarg", Str, false, Key, "An event argument by name, unformatted"),
    f("evt.info", Str, false, None, "The event arguments, or the argument summary"),
    f("evt.buffer", Bytes, false, None, "The data buffer of read/write events"),
    f("evt.buflen", U64, false, None, "The length of the data buffer"),
    f("evt.res", Str, false, None, "The event result: SUCCESS or the error code name"),
    f("evt.rawres", I64, false, None, "The event result as a number"),
    f("evt.failed", Bool, false, None, "True for events that returned an error"),
    f("evt.is_io", Bool, false, None, "True for events that read or write data"),
    f("evt.is_io_read", Bool, false, None, "True for events that read data"),
    f("evt.is_io_write", Bool, false, None, "True for events that write data"),
    f("evt.is_open_read", Bool, false, None, "True for open events whose flags include reading"),
    f("evt.is_open_write", Bool, false, None, "True for open events whose flags include writing"),
    f("evt.is_open_exec", Bool, false, None, "True for open/create events whose mode is executable"),
    f("evt.is_open_create", Bool, false, None, "True for open events that create the file"),
    f("evt.latency", Time, false, None, "Time between the enter and exit event, in nanoseconds"),
    f("syscall.type", Str, false, None, "The system call name of syscall events"),
    f("proc.pid", I64, false, None, "The id of the process"),
    f("proc.exe", Str, false, None, "The first command-line argument (argv[0]), usually the executable name or path"),
    f("proc.name", Str, false, None, "The process name (the executable's file name, at most 16 characters in the kernel)"),
    f("proc.args", Str, false, None, "The command-line arguments, without the executable"),
    f("proc.env", Str, false, Key, "The environment, or one variable (proc.env[HOME])"),
    f("proc.cmdline", Str, false, None, "The full command line: proc.name and proc.args"),
    f("proc.exeline", Str, false, None, "The full command line with proc.exe as first argument"),
    f("proc.cwd", Str, false, None, "The current working directory"),
    f("proc.nthreads", U64, false, None, "The number of threads of the process"),
    f("proc.nchilds", U64, false, None, "The number of child threads"),
    f("proc.ppid", I64, false, None, "The parent's pid"),
    f("proc.pname", Str, false, None, "The parent's name"),
    f("proc.pcmdline", Str, false, None, "The parent's command line"),
    f("proc.pexe", Str, false, None, "The parent's proc.exe"),
    f("proc.pexepath", Str, false, None, "The parent's full executable path"),
    f("proc.apid", I64, false, Index, "The pid of an ancestor (proc.apid[1] is the parent); without index, any ancestor"),
    f("proc.aname", Str, false, Index, "The name of an ancestor (proc.aname[1] is the parent); without index, any ancestor"),
    f("proc.aexe", Str, false, Index, "The proc.exe of an ancestor; without index, any ancestor"),
    f("proc.aexepath", Str, false, Index, "The executable path of an ancestor; without index, any ancestor"),
    f("proc.exepath", Str, false, None, "The full path of the executable"),
    f("proc.loginshellid", I64, false, None, "The pid of the oldest shell among the ancestors"),
    f("proc.duration", Time, false, None, "Nanoseconds since the process started"),
    f("proc.ppid.duration", Time, false, None, "Nanoseconds since the parent started"),
    f("proc.pid.ts", Time, false, None, "Start time of the process, nanoseconds since the epoch"),
    f("proc.ppid.ts", Time, false, None, "Start time of the parent, nanoseconds since the epoch"),
    f("proc.is_exe_writable", Bool, false, None, "True if the executable is writable by the process's user"),
    f("proc.is_exe_upper_layer", Bool, false, None, "True if the executable is in the container's overlay upper layer (created or modified in the container)"),
    f("proc.is_exe_from_memfd", Bool, false, None, "True if the executable was run from a memfd (fileless execution)"),
    f("proc.exe_ino", I64, false, None, "The inode of the executable"),
    f("proc.exe_ino.ctime", Time, false, None, "The executable's inode change time"),
    f("proc.exe_ino.mtime", Time, false, None, "The executable's modification time"),
    f("proc.exe_ino.ctime_duration_proc_start", Time, false, None, "Nanoseconds between the executable's change time and the process start"),
    f("proc.exe_ino.ctime_duration_pidns_start", Time, false, None, "Nanoseconds between the pid namespace start and the executable's change time"),
    f("proc.pidns_init_start_ts", Time, false, None, "Start time of the pid namespace's init process"),
    f("proc.vpid", I64, false, None, "The pid as seen in its pid namespace"),
    f("proc.pvpid", I64, false, None, "The parent's pid as seen in its pid namespace"),
    f("proc.sid", I64, false, None, "The session id"),
    f("proc.sname", Str, false, None, "The name of the session leader"),
    f("proc.sid.exe", Str, false, None, "The proc.exe of the session leader"),
    f("proc.sid.exepath", Str, false, None, "The executable path of the session leader"),
    f("proc.is_sid_leader", Bool, false, None, "True if the process is the session leader"),
    f("proc.vpgid", I64, false, None, "The process group id as seen in its pid namespace"),
    f("proc.vpgid.name", Str, false, None, "The name of the process group leader"),
    f("proc.vpgid.exe", Str, false, None, "The proc.exe of the process group leader"),
    f("proc.vpgid.exepath", Str, false, None, "The executable path of the process group leader"),
    f("proc.is_vpgid_leader", Bool, false, None, "True if the process is its group's leader"),
    f("proc.tty", I64, false, None, "The controlling terminal (0 when none)"),
    f("proc.stdin.type", Str, false, None, "The type of the process's standard input"),
    f("proc.stdout.type", Str, false, None, "The type of the process's standard output"),
    f("proc.stderr.type", Str, false, None, "The type of the process's standard error"),
    f("proc.stdin.name", Str, false, None, "The name of the process's standard input"),
    f("proc.stdout.name", Str, false, None, "The name of the process's standard output"),
    f("proc.stderr.name", Str, false, None, "The name of the process's standard error"),
    f("proc.is_container_healthcheck", Bool, false, None, "True if the process runs a container health check"),
    f("proc.is_container_liveness_probe", Bool, false, None, "True if the process runs a liveness probe"),
    f("proc.is_container_readiness_probe", Bool, false, None, "True if the process runs a readiness probe"),
    f("proc.cmdnargs", U64, false, None, "The number of command-line arguments"),
    f("proc.cmdlenargs", U64, false, None, "The total length of the command-line arguments"),
    f("thread.tid", I64, false, None, "The thread id"),
    f("thread.vtid", I64, false, None, "The thread id as seen in its pid namespace"),
    f("thread.ismain", Bool, false, None, "True for the main thread"),
    f("thread.cap_permitted", Str, false, None, "The permitted capabilities"),
    f("thread.cap_inheritable", Str, false, None, "The inheritable capabilities"),
    f("thread.cap_effective", Str, false, None, "The effective capabilities"),
    f("thread.cgroups", Str, false, None, "All cgroups of the thread"),
    f("thread.cgroup", Str, false, Key, "The cgroup of a subsystem (thread.cgroup[cpuacct])"),
    f("user.uid", U64, false, None, "The user id"),
    f("user.name", Str, false, None, "The user name"),
    f("user.homedir", Str, false, None, "The user's home directory"),
    f("user.shell", Str, false, None, "The user's shell"),
    f("user.loginuid", I64, false, None, "The audit login uid (-1 when none)"),
    f("user.loginname", Str, false, None, "The audit login user name"),
    f("group.gid", U64, false, None, "The group id"),
    f("group.name", Str, false, None, "The group name"),
    f("fd.num", I64, false, None, "The file descriptor number"),
    f("fd.type", Str, false, None, "The file descriptor type (file, directory, ipv4, ipv6, unix, pipe, event, signalfd, eventpoll, inotify, memfd…)"),
    f("fd.typechar", Str, false, None, "The descriptor type as one character (f, 4, 6, u, p…)"),
    f("fd.name", Str, false, None, "The descriptor name: a path, or the connection tuple"),
    f("fd.nameraw", Str, false, None, "The descriptor name as passed to the system call"),
    f("fd.directory", Str, false, None, "The directory of a file descriptor"),
    f("fd.filename", Str, false, None, "The file name (without directory) of a file descriptor"),
    f("fd.ip", Ip, false, None, "Either end's IP address (for filtering)"),
    f("fd.cip", Ip, false, None, "The client's IP address"),
    f("fd.sip", Ip, false, None, "The server's IP address"),
    f("fd.lip", Ip, false, None, "The local IP address"),
    f("fd.rip", Ip, false, None, "The remote IP address"),
    f("fd.port", U64, false, None, "Either end's port (for filtering)"),
    f("fd.cport", U64, false, None, "The client's port"),
    f("fd.sport", U64, false, None, "The server's port"),
    f("fd.lport", U64, false, None, "The local port"),
    f("fd.rport", U64, false, None, "The remote port"),
    f("fd.l4proto", Str, false, None, "The layer-4 protocol (tcp, udp, icmp, raw)"),
    f("fd.sockfamily", Str, false, None, "The socket family (ip, unix)"),
    f("fd.is_server", Bool, false, None, "True if the process is the server end"),
    f("fd.uid", Str, false, None, "A unique id of the descriptor (pid and fd number)"),
    f("fd.net", IpNet, false, None, "Either end's network (compared by containment)"),
    f("fd.cnet", IpNet, false, None, "The client's network"),
    f("fd.snet", IpNet, false, None, "The server's network"),
    f("fd.lnet", IpNet, false, None, "The local network"),
    f("fd.rnet", IpNet, false, None, "The remote network"),
    f("fd.connected", Bool, false, None, "True if the socket is connected"),
    f("fd.name_changed", Bool, false, None, "True if the event changed the descriptor's name"),
    f("fd.cip.name", Str, false, None, "The domain name of the client's IP"),
    f("fd.sip.name", Str, false, None, "The domain name of the server's IP"),
    f("fd.lip.name", Str, false, None, "The domain name of the local IP"),
    f("fd.rip.name", Str, false, None, "The domain name of the remote IP"),
    f("fd.dev", U64, false, None, "The device number of the file"),
    f("fd.ino", I64, false, None, "The inode of the file"),
    f("fd.types", Str, true, Index, "The types of the descriptors the event uses (fd.types[0] is the first)"),
    f("fs.path.name", Str, false, None, "The path of a filesystem event"),
    f("fs.path.nameraw", Str, false, None, "The path of a filesystem event as passed to the system call"),
    f("fs.path.source", Str, false, None, "The source path of a rename, link or mount"),
    f("fs.path.target", Str, false, None, "The target path of a rename, link or mount"),
    f("container.id", Str, false, None, "The container id (12 characters; host for the host)"),
    f("container.full_id", Str, false, None, "The full container id"),
    f("container.name", Str, false, None, "The container name"),
    f("container.image", Str, false, None, "The container image (repository:tag)"),
    f("container.image.id", Str, false, None, "The container image id"),
    f("container.image.repository", Str, false, None, "The container image repository"),
    f("container.image.tag", Str, false, None, "The container image tag"),
    f("container.image.digest", Str, false, None, "The container image digest"),
    f("container.type", Str, false, None, "The container runtime (docker, containerd, cri-o, …)"),
    f("container.privileged", Bool, false, None, "True for a privileged container"),
    f("container.mounts", Str, false, None, "The container's mounts (source:dest:mode:rdrw:propagation, comma separated)"),
    f("container.mount", Str, false, Key, "A mount by index or destination"),
    f("container.mount.source", Str, false, Key, "A mount's source, by index or destination"),
    f("container.mount.dest", Str, false, Key, "A mount's destination, by index or source (a trailing * is a prefix)"),
    f("container.mount.mode", Str, false, Key, "A mount's mode, by index or destination"),
    f("container.mount.rdwr", Str, false, Key, "A mount's read/write flag, by index or destination"),
    f("container.mount.propagation", Str, false, Key, "A mount's propagation, by index or destination"),
    f("container.healthcheck", Str, false, None, "The container's health check command"),
    f("container.liveness_probe", Str, false, None, "The container's liveness probe command"),
    f("container.readiness_probe", Str, false, None, "The container's readiness probe command"),
    f("container.start_ts", Time, false, None, "The container start time, nanoseconds since the epoch"),
    f("container.duration", Time, false, None, "Nanoseconds since the container started"),
    f("container.ip", Ip, false, None, "The container's IP address"),
    f("container.cni.json", Str, false, None, "The container's CNI result as JSON"),
    f("container.host_pid", Bool, false, None, "True if the container shares the host's pid namespace"),
    f("container.host_network", Bool, false, None, "True if the container shares the host's network"),
    f("container.host_ipc", Bool, false, None, "True if the container shares the host's IPC namespace"),
    f("container.info", Str, false, None, "Container id and name, as Falco's %container.info output placeholder"),
    f("k8s.ns.name", Str, false, None, "The Kubernetes namespace"),
    f("k8s.pod.name", Str, false, None, "The pod name"),
    f("k8s.pod.id", Str, false, None, "The pod uid"),
    f("k8s.pod.uid", Str, false, None, "The pod uid"),
    f("k8s.pod.label", Str, false, KeyRequired, "A pod label (k8s.pod.label[app])"),
    f("k8s.pod.labels", Str, false, None, "The pod labels as key:value, comma separated"),
    f("k8s.pod.ip", Ip, false, None, "The pod IP"),
    f("k8s.pod.cni.json", Str, false, None, "The pod's CNI result as JSON"),
    f("k8s.pod.sandbox_id", Str, false, None, "The pod's sandbox id (12 characters)"),
    f("k8s.pod.full_sandbox_id", Str, false, None, "The pod's full sandbox id"),
    f("k8s.rc.name", Str, false, None, "The replication controller name"),
    f("k8s.rs.name", Str, false, None, "The replica set name"),
    f("k8s.svc.name", Str, false, None, "The service name"),
    f("k8s.deployment.name", Str, false, None, "The deployment name"),
];

/// The sources we provide.
pub const SOURCES: &[&str] = &["syscall", "k8s_audit"];

pub fn table(source: &str) -> Option<&'static [FieldDef]> {
    match source {
        "syscall" => Some(SYSCALL),
        "k8s_audit" => Some(K8S_AUDIT),
        _ => Option::None,
    }
}

/// Finds a field of a source by name, including the dotted argument forms `evt.arg.NAME`,
/// `evt.rawarg.NAME` and `proc.env.NAME`. Returns the definition and the argument the dotted
/// form implies.
pub fn lookup(source: &str, name: &str) -> Option<(&'static FieldDef, Option<String>)> {
    let t = table(source)?;
    if let Some(d) = t.iter().chain(COMMON).find(|d| d.name == name) {
        return Some((d, Option::None));
    }
    for dyn_prefix in ["evt.arg.", "evt.rawarg."] {
        if let Some(key) = name.strip_prefix(dyn_prefix) {
            if source == "syscall" && !key.is_empty() {
                let base = &dyn_prefix[..dyn_prefix.len() - 1];
                let d = t.iter().find(|d| d.name == base)?;
                return Some((d, Some(key.to_string())));
            }
        }
    }
    Option::None
}

/// Which source a field belongs to, judged by name (for macros, which have no source).
pub fn sources_of(name: &str) -> Vec<&'static str> {
    SOURCES.iter().copied().filter(|s| lookup(s, name).is_some()).collect()
}
