"""The sandbox package (being split into one module per concern; see the next commit)."""

from grader.sandbox.trampoline import (  # noqa: F401
    BASE_LAYERS,
    DISABLE_ENV,
    SANDBOX_USER,
    IsolationInfo,
    SandboxError,
    SandboxLimits,
    SandboxRun,
    _prepare_workdir,
    _probe_all,
    detect_isolation,
    detect_isolation_in_background,
    ensure_readable,
    ensure_unreadable,
    make_workdir,
    run_sandboxed,
)
