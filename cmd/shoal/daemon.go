package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// memcached's -d forks; a Go program cannot, so -d runs the same command
// again as a child in a new session and waits until the child is ready to
// serve: listening, its pid file written. Until then the child writes to
// the terminal, so a failure to start shows there and the command fails;
// once it is ready the command exits 0 and the child carries on alone,
// its output sent to /dev/null unless verbose, as memcached's is. Unlike
// memcached, the daemon keeps the working directory (relative file names
// in the settings stay right).

// daemonEnv marks the child; it is not an option (no SHOAL_ prefix).
const daemonEnv = "_SHOAL_DAEMON"

// readyFD is the descriptor of the pipe on which the child says it is
// ready (the first of exec.Cmd.ExtraFiles).
const readyFD = 3

// isDaemon reports whether this process is the child of a -d start.
func isDaemon() bool { return os.Getenv(daemonEnv) != "" }

// daemonize starts the child and waits for it to be ready.
func daemonize() error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("-d: finding the shoal binary: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("-d: %w", err)
	}
	defer r.Close()
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), daemonEnv+"=1")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr // stdin is /dev/null
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return fmt.Errorf("-d: starting the daemon: %w", err)
	}
	if msg, _ := io.ReadAll(r); string(msg) == "ready" {
		return cmd.Process.Release()
	}
	return fmt.Errorf("-d: the daemon exited before it was ready: %v", cmd.Wait())
}

// detach tells the parent the daemon is ready and, unless verbose, sends
// the daemon's output to /dev/null. It does nothing outside a daemon.
func detach(verbose bool) error {
	if !isDaemon() {
		return nil
	}
	ready := os.NewFile(readyFD, "ready")
	_, err := io.WriteString(ready, "ready")
	ready.Close()
	if err != nil {
		return fmt.Errorf("-d: telling the parent: %w", err)
	}
	if verbose {
		return nil
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer null.Close()
	return errors.Join(unix.Dup2(int(null.Fd()), 1), unix.Dup2(int(null.Fd()), 2))
}
