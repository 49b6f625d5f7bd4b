package engine

import (
	"testing"
	"time"
)

// A job submitted while a worker is busy must not wait for it, and an idle
// worker must be reused rather than a new goroutine started.
func TestWorkersRunWithoutWaitingAndReuse(t *testing.T) {
	w := newWorkers(time.Minute, nil)
	block := make(chan struct{})
	started := make(chan struct{})
	w.run(func() { close(started); <-block })
	<-started
	ran := make(chan struct{})
	w.run(func() { close(ran) }) // the only worker is busy: a second one runs it
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("a job waited for a busy worker")
	}
	close(block)

	// The workers are idle now: a job handed over the jobs channel (which
	// only an idle worker receives from) must be taken.
	deadline := time.Now().Add(5 * time.Second)
	done := make(chan struct{})
	for sent := false; !sent; {
		select {
		case w.jobs <- func() { close(done) }:
			sent = true
		default:
			if time.Now().After(deadline) {
				t.Fatal("no idle worker took a job")
			}
			time.Sleep(time.Millisecond)
		}
	}
	<-done
}

// Idle workers go away after the idle time.
func TestWorkersExitWhenIdle(t *testing.T) {
	w := newWorkers(20*time.Millisecond, nil)
	done := make(chan struct{})
	w.run(func() { close(done) })
	<-done
	time.Sleep(200 * time.Millisecond)
	select {
	case w.jobs <- func() {}:
		t.Fatal("a worker was still idle after its idle time")
	default:
	}
}

// Idle workers leave at shutdown without waiting out the idle time.
func TestWorkersExitAtShutdown(t *testing.T) {
	done := make(chan struct{})
	w := newWorkers(time.Hour, done)
	w.run(func() {})
	// Wait until the worker is idle: only then does a send succeed.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		select {
		case w.jobs <- func() {}:
		default:
			if time.Now().After(deadline) {
				t.Fatal("the worker never became idle")
			}
			continue
		}
		break
	}
	close(done)
	// Once it has left, sends fail; an idle worker would take one within
	// a millisecond of every try.
	time.Sleep(50 * time.Millisecond)
	for i := 0; i < 20; i++ {
		select {
		case w.jobs <- func() {}:
			t.Fatal("an idle worker still took a job after shutdown")
		case <-time.After(5 * time.Millisecond):
		}
	}
}
