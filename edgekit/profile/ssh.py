"""Run the device runner over the system's OpenSSH client.

Every ssh call is an argument list (no local shell). The one string that does pass through a shell,
the remote command, is built from words quoted with ``shlex.quote`` plus a few fixed operators that
edgekit writes itself (``Op``). Options come from the user's ssh config, known_hosts and agent; edgekit
adds only BatchMode (never prompt), timeouts and connection sharing, and never touches host-key checking.
"""
from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from ..errors import DependencyError, RemoteError
from . import Protocol, RUNNER, parse_runner_output
from .remote import RemoteOptions, SshAddress

# ServerAlive*: a device that vanishes mid-run (power, Wi-Fi) is noticed within 15 s x 3 instead of hanging.
_BASE_OPTIONS = ["-o", "BatchMode=yes", "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=3"]
_STEP_TIMEOUT = 120  # seconds for a small step (the cleanup after a failure); the measurement has none

# Runs on the device (any Python 3) in the work dir with the model's format as argument: says what is
# there, found without importing anything (an import of numpy costs ~0.3 s on a Raspberry Pi 4,
# TensorFlow many seconds), and exits 3 when the runner could not run, so the shell stops there.
PROBE = ("import json,os,platform,sys,importlib.util as u\n"
         "need={'tflite':('ai_edge_litert','tflite_runtime','tensorflow'),'onnx':('onnxruntime',)}[sys.argv[1]]\n"
         "f={'edgekit_probe':1,'dir':os.getcwd(),'python':platform.python_version(),'numpy':bool(u.find_spec('numpy')),"
         "'runtimes':[m for m in ('ai_edge_litert','tflite_runtime','tensorflow','onnxruntime') if u.find_spec(m)]}\n"
         "print(json.dumps(f))\n"
         "sys.exit(0 if sys.version_info>=(3,7) and f['numpy'] and set(f['runtimes'])&set(need) else 3)\n")
_RUNTIMES = {"tflite": ("ai_edge_litert", "tflite_runtime", "tensorflow"), "onnx": ("onnxruntime",)}
_PIP = {"tflite": "ai-edge-litert", "onnx": "onnxruntime"}


class Op(str):
    """A fixed shell operator or word written by edgekit (never user data): not quoted."""


def remote_command(words) -> str:
    """One command line for the remote POSIX shell: data words quoted, Op words verbatim."""
    return " ".join(w if isinstance(w, Op) else shlex.quote(str(w)) for w in words)


def remote_path(path: str) -> str | Op:
    """A device path as a shell word; a leading ``~/`` becomes the remote $HOME (quoting would keep ``~``)."""
    if path.startswith("~/"):
        return Op('"$HOME"/' + shlex.quote(path[2:]))
    return path


class SshSession:
    """ssh to one device; connections share one authenticated master (ControlMaster) for speed."""

    def __init__(self, address: SshAddress, opts: RemoteOptions):
        if shutil.which("ssh") is None:
            raise DependencyError("the ssh client is not installed", "edgekit uses the system's OpenSSH",
                                  "install it (Debian: apt install openssh-client)")
        self.address, self.opts = address, opts
        self._control = Path(tempfile.mkdtemp(prefix="ek-ssh-"))  # short: unix socket paths max ~104 bytes

    def argv(self, command: str | None, extra: tuple[str, ...] = ()) -> list[str]:
        a, o = self.address, self.opts
        argv = ["ssh", *_BASE_OPTIONS, "-o", f"ConnectTimeout={o.connect_timeout}",
                "-o", "ControlMaster=auto", "-o", f"ControlPath={self._control}/%C", "-o", "ControlPersist=60",
                *extra]
        argv += ["-F", str(o.ssh_config)] if o.ssh_config else []
        argv += ["-i", str(o.identity)] if o.identity else []
        argv += ["-p", str(a.port)] if a.port else []
        argv += ["-l", a.user] if a.user else []
        # "--" ends ssh's options before the host, so neither host nor command can be read as an option.
        return argv + ["--", a.host] + ([command] if command is not None else [])

    def run(self, words, stdin_fd: int | None = None, timeout: float | None = _STEP_TIMEOUT,
            step: str = "") -> subprocess.CompletedProcess:
        cmd = self.argv(remote_command(words))
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL if stdin_fd is None else stdin_fd,
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RemoteError(f"ssh to {self.address.shown} timed out ({step or 'step'})",
                              f"no answer within {timeout:g} s", "check the device and the network") from None
        if proc.returncode == 255:
            raise ssh_error(self.address, proc.stderr)
        return proc

    def close(self) -> None:
        """Stop the shared master connection this session started, and remove its socket directory."""
        try:
            subprocess.run(self.argv(None, ("-O", "exit")), capture_output=True, timeout=15)
        except (subprocess.TimeoutExpired, OSError):
            pass
        shutil.rmtree(self._control, ignore_errors=True)


def ssh_error(address: SshAddress, stderr: str) -> RemoteError:
    """Turn ssh's own failure (exit 255) into one line that says what to do."""
    where = address.shown
    plain = "ssh " + (f"-p {address.port} " if address.port else "") + (f"{address.user}@" if address.user else "") \
        + address.host
    keyscan = f"ssh-keyscan {'-p ' + str(address.port) + ' ' if address.port else ''}{address.host}"
    if "REMOTE HOST IDENTIFICATION HAS CHANGED" in stderr:
        return RemoteError(f"the host key of {where} has CHANGED", "this may be a different machine (or a reinstall)",
                           f"if you trust the change, remove the old key with ssh-keygen -R {address.host} "
                           "and connect once with plain ssh to check and accept the new fingerprint")
    if "Host key verification failed" in stderr or "host key is known" in stderr:
        return RemoteError(f"ssh cannot verify the host key of {where}", "it is not in your known_hosts, and edgekit "
                           "never turns host-key checking off",
                           f"connect once with plain ssh ({plain}) to check the fingerprint and accept it, or add "
                           f"it with {keyscan} >> ~/.ssh/known_hosts (the real host name, not an alias; "
                           "check the key first)")
    if "Permission denied" in stderr:
        return RemoteError(f"ssh login to {where} was refused", _last_line(stderr),
                           "pass --identity FILE or load the key into ssh-agent, and check the user name "
                           "(batch mode cannot ask for a password)")
    if "Could not resolve hostname" in stderr:
        return RemoteError(f"cannot resolve {address.host}", _last_line(stderr),
                           "check the name, or define it as a Host alias in your ssh config (--ssh-config)")
    return RemoteError(f"ssh to {where} failed", _last_line(stderr),
                       "check that the device is on and sshd runs (try plain ssh with the same address)")


def _last_line(text: str) -> str:
    lines = [l.strip() for l in text.strip().splitlines() if l.strip() and not l.startswith("Warning: Permanently")]
    return (lines or ["no message"])[-1][:300]


def measure_ssh(path: Path, proto: Protocol, threads: int, address: SshAddress, opts: RemoteOptions) -> dict:
    """Copy runner + model to a fresh temp dir on the device, run it, bring the record back, clean up.

    One ssh command does it all (each costs a remote shell start, ~0.5 s on a busy board): make the
    directory, probe Python, unpack the files from stdin, run, remove the directory. Only after a failure
    of ssh itself or a Ctrl-C is a second one needed; the directory's name is chosen here for that.
    """
    from ..runtime.device import detect_format

    fmt = detect_format(str(path))  # a bad local file fails here, before anything is copied
    session = SshSession(address, opts)
    workdir = Op('"${TMPDIR:-/tmp}"/edgekit.' + secrets.token_hex(8))  # hex only: safe unquoted
    py, needs_cleanup = remote_path(opts.remote_python), True
    model_name = f"model.{fmt}"  # our own name: the local file name never reaches the device's shell
    try:
        proc = run_on_device(session, workdir, py, fmt, [(RUNNER, "device.py"), (path, model_name)],
                             ["device.py", model_name, *proto.runner_args(threads)])
        needs_cleanup = False  # the command removed the directory itself
        runner_out = check_device(address.shown, proc, fmt, opts.remote_python)
        return parse_runner_output(runner_out, proc.stderr, proc.returncode, where=f"device {address.shown}")
    finally:  # also on failure and Ctrl-C: nothing of ours stays on the device
        if needs_cleanup:
            cleanup(session, workdir)
        session.close()


# Runs in the work dir: a JSON header [[name, size], ...] on the first line, then the files' bytes in order.
UNPACK = ("import sys,json\n"
          "i=sys.stdin.buffer\n"
          "for n,s in json.loads(i.readline()):\n"
          "  with open(n,'wb') as f:\n"
          "    while s:\n"
          "      b=i.read(min(s,1<<20))\n"
          "      if not b: sys.exit('edgekit: the upload of '+n+' was cut short')\n"
          "      f.write(b); s-=len(b)\n")


def run_on_device(session: SshSession, workdir: Op, py, fmt: str, files, runner_args) -> subprocess.CompletedProcess:
    """mkdir (mode 700: private; fails if the name exists), probe, unpack, run, rm -rf, exit with the status.

    The runner runs as a background job so that the shell knows its pid (written to ``pid`` for a Ctrl-C
    cleanup) and still removes the directory when it ends, even if the connection was lost meanwhile.
    """
    read_fd, write_fd = os.pipe()
    feeder = threading.Thread(target=_feed, args=(write_fd, files), daemon=True)
    feeder.start()
    try:
        words = [Op("mkdir -m 700"), workdir, Op("&& cd"), workdir, Op("&&"), py, "-c", PROBE, fmt,
                 Op("&&"), py, "-c", UNPACK, Op("&& {"), py, *runner_args,
                 Op("& echo $! > pid; wait $!; }; rc=$?; cd / && rm -rf"), workdir, Op("; exit $rc")]
        return session.run(words, stdin_fd=read_fd, timeout=None, step="measurement")
    finally:
        os.close(read_fd)
        feeder.join(timeout=5)


def _feed(fd: int, files) -> None:
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(json.dumps([[name, Path(local).stat().st_size] for local, name in files]).encode() + b"\n")
            for local, _ in files:
                with open(local, "rb") as fh:
                    shutil.copyfileobj(fh, out, 1 << 20)
    except (BrokenPipeError, OSError):
        pass  # the remote side ended early; its stderr says why


def cleanup(session: SshSession, workdir: Op) -> None:
    """Stop the runner we started (its pid, nothing else) if it still runs, and remove the work dir."""
    try:
        session.run([Op('kill "$(cat'), Op(workdir + '/pid 2>/dev/null)" 2>/dev/null; rm -rf'), workdir],
                    timeout=30, step="cleanup")
    except RemoteError:
        pass  # the device went away: nothing more we can do, and the original error matters more


def probe_facts(stdout: str) -> tuple[dict | None, str]:
    """(the probe's JSON, the runner's output after it) from the command's stdout."""
    lines = stdout.splitlines()
    for i, line in enumerate(lines):
        if line.startswith('{"edgekit_probe"'):
            return json.loads(line), "\n".join(lines[i + 1:])
    return None, stdout


def check_device(where: str, proc: subprocess.CompletedProcess, fmt: str, shown_py: str) -> str:
    """Judge the probe; a missing python3, numpy or runtime is an error saying what to install there.

    Returns the runner's output (what followed the probe's line)."""
    facts, rest = probe_facts(proc.stdout)
    if facts is None and "mkdir" in proc.stderr:
        raise RemoteError(f"cannot create a temporary directory on {where}", _last_line(proc.stderr),
                          "check that /tmp (or $TMPDIR) is writable on the device")
    if facts is None and proc.returncode in (126, 127):
        raise RemoteError(f"no Python at {shown_py!r} on {where}", _last_line(proc.stderr),
                          "install it there (Debian/Raspberry Pi OS: sudo apt install python3 python3-numpy) or "
                          "pass --remote-python /path/to/venv/bin/python")
    if facts is None:
        raise RemoteError(f"{shown_py} on {where} did not run the probe", _last_line(proc.stderr),
                          "check that --remote-python names Python 3.7 or newer")
    if tuple(int(x) for x in facts["python"].split(".")[:2]) < (3, 7):
        raise RemoteError(f"{shown_py} on {where} is Python {facts['python']}", "the runner needs 3.7 or newer",
                          "install python3 >= 3.7 there or pass --remote-python")
    missing = [] if facts["numpy"] else ["numpy"]
    if not set(facts["runtimes"]) & set(_RUNTIMES[fmt]):
        missing.append(_PIP[fmt])
    if missing:
        raise RemoteError(f"{', '.join(missing)} missing on {where} (Python {facts['python']} at {shown_py})",
                          f"a .{fmt} model needs numpy and one of {', '.join(_RUNTIMES[fmt])}",
                          f"on the device run: {shown_py} -m pip install {' '.join(missing)} (in a venv on "
                          "Raspberry Pi OS, then pass --remote-python that venv's bin/python)")
    return rest
