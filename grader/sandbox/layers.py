"""Isolation layers: their names, what each guarantees and where it is implemented; ``IsolationInfo``.

Every run gets the base layers; each optional layer is probed once per process
(:mod:`grader.sandbox.probes`) by running a tiny sandboxed child, and skipped with a reason in
``IsolationInfo.unavailable`` if the probe fails.  A layer that passed its probe but fails to
set up for a run makes that run raise :class:`SandboxError` (the untrusted command is then
never executed).  ``W2V_SANDBOX_DISABLE=netns,pidns`` (:data:`DISABLE_ENV`) switches layers
off.  ``IsolationInfo.layers`` of every run says which layers were active; the grader records
them in every result, and :func:`integrity` turns them into the one word a report shows.

========================  ==================================================================  =================================
layer                     guarantee                                                           implemented in
========================  ==================================================================  =================================
``rlimits`` (always)      RLIMIT_CPU (SIGXCPU at the soft limit, SIGKILL a second later),     :mod:`.limits` (values, and which
                          RLIMIT_AS, RLIMIT_FSIZE, RLIMIT_CORE=0, RLIMIT_NOFILE, and          limit ended a run: ``supervisor``),
                          RLIMIT_NPROC with a dedicated uid (root ignores NPROC), for the     applied by :mod:`.trampoline`
                          worker and everything it forks; plus the supervisor's wall-time
                          and per-call idle limits (wall seconds and CPU seconds)
``process_group``         the trampoline starts a new session; at the end the whole process   :mod:`.supervisor`
(always)                  group is SIGKILLed (alone, it cannot catch ``setsid()`` children)
``fresh_tmpdir``          HOME, TMPDIR and MPLCONFIGDIR point inside the run's ``workdir``;    :mod:`.environment`
(always)                  a minimal environment (BLAS pinned to one thread)
``subreaper``             orphans are re-parented to the trampoline, killed and reaped        :mod:`.trampoline`
``pidns``                 own pid namespace under a trusted init that kills and reaps it      :mod:`.trampoline`
``uid:<name>``            an unprivileged pool user without groups, one per concurrent run;   :mod:`.uid_pool` (lease, kill-all),
                          ``workdir`` chowned to it; without pidns every process of the       :mod:`.trampoline` (switch),
                          leased user is SIGKILLed at the end (never for ``nobody``)          :mod:`.environment` (files)
``no_new_privs``          setuid binaries cannot raise privileges                             :mod:`.trampoline`
``netns``                 empty network namespace (a down loopback only)                      :mod:`.trampoline`
``mountns`` (needs        fresh /proc; every top-level directory but the system ones (/usr,    :mod:`.mounts` (plan),
pidns)                    /lib*, /bin, /sbin, /etc, /dev, /sys) masked by an empty read-only   :mod:`.trampoline` (mounting)
                          tmpfs, and so are ``hide_paths`` (the grader's own packages, the
                          reference, the expected-values cache); empty writable tmpfs over
                          /tmp and /dev/shm; ``workdir``, readable paths and the interpreter
                          bind-mounted back
``seccomp``               a system-call filter: ptrace/process_vm_*, namespaces, mounts, bpf,  :mod:`.trampoline` (filter),
                          perf_event_open, keyrings, io_uring, modules, kexec... fail (EPERM)  :mod:`.probes` (probe)
``cgroup``                the run in its own cgroups (v1 or v2): a memory limit whose OOM      :mod:`.cgroups` (make, read,
                          kills are attributed to the run, a pids limit, and CPU accounting    remove), :mod:`.trampoline` (join)
                          of every process of the run, escaped or not
========================  ==================================================================  =================================

Secrets (the reference, the grader's sources, the expected-values cache) are out of a worker's
reach when ``mountns`` hides them, or when the run has its own uid and the secrets are not
readable by others (:func:`grader.sandbox.ensure_unreadable`, root only; Gradescope's run does
it).  :func:`integrity` says which holds.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

L_RLIMITS, L_PGROUP, L_TMPDIR = "rlimits", "process_group", "fresh_tmpdir"
L_PIDNS, L_MOUNTNS, L_NETNS, L_NNP = "pidns", "mountns", "netns", "no_new_privs"
L_SUBREAPER = "subreaper"
L_SECCOMP, L_CGROUP = "seccomp", "cgroup"
BASE_LAYERS = (L_RLIMITS, L_PGROUP, L_TMPDIR)
"""Layers every run gets, on every platform."""
DISABLE_ENV = "W2V_SANDBOX_DISABLE"
"""Comma-separated optional layers to switch off (e.g. ``netns,pidns``)."""


@dataclass
class IsolationInfo:
    """Isolation layers active for a run (or available on this platform)."""

    layers: list[str]
    unavailable: dict[str, str]
    uid: int | None = None
    gid: int | None = None

    def has(self, layer: str) -> bool:
        """True if ``layer`` is active; ``"uid"`` matches any ``uid:<name>`` layer."""
        if layer == "uid":
            return self.uid_layer is not None
        return layer in self.layers

    @property
    def uid_layer(self) -> str | None:
        """The ``uid:<name>`` layer name, if any."""
        return next((name for name in self.layers if name.startswith("uid:")), None)

    def with_layer(self, layer: str, **changes: int | None) -> IsolationInfo:
        """Copy with ``layer`` added (and e.g. ``uid``/``gid`` set)."""
        new = copy.deepcopy(self)
        new.layers.append(layer)
        for key, value in changes.items():
            setattr(new, key, value)
        return new


def restrict(detected: IsolationInfo, requested: IsolationInfo | None) -> IsolationInfo:
    """``detected``, or the ``requested`` subset of it (ValueError if it asks for more)."""
    if requested is None:
        return detected
    extra = set(requested.layers) - set(detected.layers)
    if extra:
        raise ValueError(f"isolation layers not available here: {sorted(extra)}")
    if L_MOUNTNS in requested.layers and L_PIDNS not in requested.layers:
        raise ValueError("mountns requires pidns")
    layers = list(BASE_LAYERS) + [x for x in requested.layers if x not in BASE_LAYERS]
    has_uid = any(x.startswith("uid:") for x in layers)
    unavailable = dict(detected.unavailable)
    unavailable.update({("uid" if x.startswith("uid:") else x): "not requested"
                        for x in detected.layers if x not in layers})
    return IsolationInfo(layers=layers, unavailable=unavailable,
                         uid=detected.uid if has_uid else None,
                         gid=detected.gid if has_uid else None)


class SandboxError(RuntimeError):
    """The sandbox itself could not be set up; the untrusted command did not run."""


def integrity(info: IsolationInfo, secrets_unreadable: bool = False) -> str:
    """``"strong"`` when student code cannot read the grader's secrets, else ``"weak"``.

    Strong: ``mountns`` (the secrets are masked) or a sandbox uid with ``secrets_unreadable``
    (their permission bits were closed to others).  Every report, batch summary and dashboard
    says which one a grade was made under.
    """
    if info.has(L_MOUNTNS) or (info.has("uid") and secrets_unreadable):
        return "strong"
    return "weak"
