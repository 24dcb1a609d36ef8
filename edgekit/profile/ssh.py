"""Run the device runner over the system's OpenSSH client.

Every ssh call is an argument list (no local shell). The one string that does pass through a shell,
the remote command, is built from words quoted with ``shlex.quote`` plus a few fixed operators that
edgekit writes itself (``Op``). Options come from the user's ssh config, known_hosts and agent; edgekit
adds only BatchMode (never prompt), timeouts and connection sharing, and never touches host-key checking.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DependencyError, InputError, RemoteError
from .runner import RUNNER, Protocol, parse_runner_output
from .transport import FILE, Kind, register

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


# A host name or IPv4 address (RFC 1123 labels; '_' for ssh-config aliases), or an IPv6 literal. Anything
# else is refused before any process starts: OpenSSH itself substitutes the host into ProxyCommand /
# Match exec shell lines (%h), which is how CVE-2023-51385 turned host names into shell injection.
_HOST = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9._-]{0,252})")
_IPV6 = re.compile(r"\[([0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?)\]")
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class SshAddress:
    host: str
    user: str | None = None
    port: int | None = None

    @property
    def shown(self) -> str:
        """The address without credentials: what ``measured_on`` records."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ssh://{host}" + (f":{self.port}" if self.port else "")


@dataclass(frozen=True)
class SshOptions:
    """How to reach and use the device. Paths are local files except ``remote_python`` (on the device)."""

    identity: Path | None = field(default=None, metadata=FILE)    # ssh -i
    ssh_config: Path | None = field(default=None, metadata=FILE)  # ssh -F
    remote_python: str = "python3"        # interpreter on the device (a venv's python works)
    connect_timeout: int = 10             # seconds; ssh ConnectTimeout
    measure_timeout: float | None = None  # seconds for one measurement (None: no limit; a fleet sets one)

    def check(self) -> "SshOptions":
        if not self.remote_python or "\n" in self.remote_python or "\0" in self.remote_python:
            raise InputError("--remote-python is empty or has a line break", repr(self.remote_python),
                             "give the interpreter's path on the device, e.g. /home/pi/venv/bin/python")
        return self


def parse(text: str) -> SshAddress:
    """``ssh://[user@]host[:port]``; anything unsafe or malformed is an InputError."""
    rest = text.strip().partition("://")[2].rstrip("/")
    user, at, hostport = rest.rpartition("@")
    if not at:
        user = None
    elif ":" in user:
        raise InputError(f"remote {_redact(text)} contains a password", "edgekit never passes passwords to ssh",
                         "use a key (--identity FILE) or your ssh agent")
    elif not _USER.fullmatch(user):
        raise bad_address(text, "a user name has only letters, digits and . _ -", "ssh://user@host")
    port = None
    ipv6 = _IPV6.match(hostport)
    if ipv6:
        host, tail = ipv6.group(1), hostport[ipv6.end():]
    elif hostport.startswith("["):
        raise bad_address(text, "an IPv6 host is hex digits and colons in brackets (and an optional %zone)",
                          "ssh://user@[fe80::1%eth0]:22")
    else:
        host, _, tail = hostport.partition(":")
        tail = ":" + tail if _ else ""
    if tail:
        if not re.fullmatch(r":\d{1,5}", tail) or not 0 < int(tail[1:]) < 65536:
            raise bad_address(text, "the port must be a number from 1 to 65535", "ssh://user@host:2222")
        port = int(tail[1:])
    if not ipv6 and not _HOST.fullmatch(host):
        raise bad_address(text, "a host has only letters, digits and . _ - (or is [IPv6])",
                          "ssh://user@host[:port] or an alias from your ssh config")
    return SshAddress(host, user, port)


def bad_address(text: str, why: str, fix: str) -> InputError:
    return InputError(f"remote address {text!r} is not valid", why, f"use {fix}; nothing was run")


def _redact(text: str) -> str:
    return re.sub(r"://[^@/]*@", "://***@", text)


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

    def __init__(self, address: SshAddress, opts: SshOptions):
        if shutil.which("ssh") is None:
            raise DependencyError("the ssh client is not installed", "edgekit uses the system's OpenSSH",
                                  "install it (Debian: apt install openssh-client)")
        self.address, self.opts = address, opts
        from .._tmp import make_temp_dir

        self._control = make_temp_dir("ek-ssh-")  # short: unix socket paths max ~104 bytes

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
            raise RemoteError(f"ssh to {full_address(self.address)} timed out ({step or 'step'})",
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


def full_address(address: SshAddress) -> str:
    """The address as given, user included: which login failed matters in an error (``shown``, which
    ``measured_on`` records, leaves the user out)."""
    return address.shown.replace("ssh://", f"ssh://{address.user}@", 1) if address.user else address.shown


def ssh_error(address: SshAddress, stderr: str) -> RemoteError:
    """Turn ssh's own failure (exit 255) into one line that says what to do."""
    where = full_address(address)
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


class SshTransport:
    """One device over ssh; the session (a shared master connection) lives until ``close()``."""
    remote = True  # another machine: architecture and throttle warnings apply


    def __init__(self, address: SshAddress, opts: SshOptions):
        self.address, self.opts, self._session = address, opts, None

    @property
    def session(self) -> SshSession:
        if self._session is None:
            self._session = SshSession(self.address, self.opts)
        return self._session

    def measure(self, path: Path, target, proto: Protocol, threads: int) -> dict:
        return measure_ssh(self.session, Path(path), proto, threads)

    def temperatures(self) -> dict[str, float]:
        proc = self.session.run([TEMPS], step="temperatures")
        return parse_temperatures(proc.stdout)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


# Every thermal zone as "temp=<type>=<millidegrees>" (Linux thermal sysfs ABI); shared with adb.
TEMPS = Op('for z in /sys/class/thermal/thermal_zone*; do '
           'echo "temp=$(cat "$z/type" 2>/dev/null)=$(cat "$z/temp" 2>/dev/null)"; done')


def parse_temperatures(text: str) -> dict[str, float]:
    temps = {}
    for line in text.splitlines():
        _, name, value = (line.split("=", 2) + ["", ""])[:3]
        if name and value.strip().lstrip("-").isdigit():
            temps[name] = int(value) / 1000.0  # millidegrees
    return temps


def measure_ssh(session: SshSession, path: Path, proto: Protocol, threads: int) -> dict:
    """Copy runner + model to a fresh temp dir on the device, run it, bring the record back, clean up.

    One ssh command does it all (each costs a remote shell start, ~0.5 s on a busy board): make the
    directory, probe Python, unpack the files from stdin, run, remove the directory. Only after a failure
    of ssh itself or a Ctrl-C is a second one needed; the directory's name is chosen here for that.
    """
    from ..runtime.device import detect_format

    address, opts = session.address, session.opts
    fmt = detect_format(str(path))  # a bad local file fails here, before anything is copied
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
        return session.run(words, stdin_fd=read_fd, timeout=session.opts.measure_timeout, step="measurement")
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
    """Stop the runner we started (its pid, nothing else) if it still runs, and remove the work dir.

    It waits (up to 10 s) until the runner is gone: on a busy board a killed process takes a while to
    exit, and the next benchmark on that board (a fleet's next job) must not run beside it."""
    stop = ('/pid 2>/dev/null); if [ -n "$p" ]; then kill "$p" 2>/dev/null; i=0; '
            'while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; fi; rm -rf')
    try:
        session.run([Op("p=$(cat"), Op(workdir + stop), workdir], timeout=30, step="cleanup")
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


KIND = register(Kind("ssh", parse, SshOptions, SshTransport, help="ssh://[user@]host[:port] or ssh://alias"))
