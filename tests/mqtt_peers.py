"""Real MQTT peers for the ingest tests: a mosquitto broker started on a free loopback port with
persistence on, paho-mqtt publishers (QoS 1), Sparkplug B edge nodes whose payloads are built from
src/ingest/sparkplug_b.proto (compiled at run time: protoc writes a descriptor set, the installed
protobuf runtime builds the classes, so no generated code has to match its version), and helpers
that run `millpond ingest mqtt` in the background."""

import getpass
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

import mpcli
from mpcli import free_port  # noqa: F401 (re-exported for the MQTT tests)

ROOT = Path(__file__).resolve().parent.parent
PROTO = ROOT / "src" / "ingest" / "sparkplug_b.proto"



def mosquitto_bin():
    for p in ("/usr/sbin/mosquitto", "/usr/bin/mosquitto"):
        if os.access(p, os.X_OK):
            return p
    return None


class Broker:
    """mosquitto -c CONF on 127.0.0.1:PORT; persistence on; queues without limit for offline
    persistent sessions (so a killed ingester loses nothing at the broker)."""

    def __init__(self, workdir, max_inflight=20):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = mpcli.free_port()
        self.max_inflight = max_inflight
        self.proc = None

    @property
    def url(self):
        return "tcp://127.0.0.1:%d" % self.port

    def start(self):
        conf = self.dir / "mosquitto.conf"
        # Started as root, mosquitto would switch to user "mosquitto" and lose access to tmp_path.
        user = "user %s\n" % getpass.getuser() if os.geteuid() == 0 else ""
        conf.write_text(
            user +
            "listener %d 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            "persistence_location %s/\n"
            "autosave_interval 1\n"
            "max_queued_messages 0\n"
            "max_queued_bytes 0\n"
            "max_inflight_messages %d\n"
            "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
            "log_type subscribe\n"
            "log_dest file %s/mosquitto.log\n" % (self.port, self.dir, self.max_inflight, self.dir))
        self.proc = subprocess.Popen([mosquitto_bin(), "-c", str(conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("mosquitto exited: %s" % self.proc.stderr.read().decode())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not listen on %d" % self.port)

    def stop(self):
        mpcli.stop_process(self.proc)
        self.proc = None


@pytest.fixture
def broker(tmp_path):
    if mosquitto_bin() is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    b = Broker(tmp_path / "broker").start()
    yield b
    b.stop()


class Publisher:
    """A paho-mqtt client (MQTT 3.1.1) publishing with QoS 1 and waiting for every PUBACK."""

    def __init__(self, broker, client_id=None, will=None, clean=True):
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=client_id or "pub-%d-%d" % (os.getpid(), id(self)),
                                  protocol=mqtt.MQTTv311, clean_session=clean)
        self.client.max_inflight_messages_set(200)
        self.client.max_queued_messages_set(0)
        if will:
            self.client.will_set(*will)
        self.messages = []  # received (topic, payload) when subscribed
        self.client.on_message = lambda c, u, m: self.messages.append((m.topic, m.payload))
        self.client.connect("127.0.0.1", broker.port, keepalive=30)
        self.client.loop_start()

    def subscribe(self, topic):
        r, mid = self.client.subscribe(topic, qos=1)
        assert r == mqtt.MQTT_ERR_SUCCESS

    def publish(self, topic, payload, qos=1, retain=False, wait=True):
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if wait:
            info.wait_for_publish(timeout=30)
            assert info.is_published(), "no PUBACK for %s" % topic
        return info

    def drop(self):
        """Drops the TCP connection without DISCONNECT, as a crashed device would (the will fires)."""
        self.client.loop_stop()
        self.client.socket().close()

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


# --- Sparkplug B payloads ----------------------------------------------------------------------

_SPB = None


def spb():
    """The Sparkplug B Payload class, built from our .proto by protoc + the protobuf runtime."""
    global _SPB
    if _SPB is None:
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
        with tempfile.TemporaryDirectory() as d:
            out = Path(d) / "spb.desc"
            subprocess.run(["protoc", "--proto_path=%s" % PROTO.parent,
                            "--descriptor_set_out=%s" % out, PROTO.name], check=True)
            fds = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
        pool = descriptor_pool.DescriptorPool()
        for f in fds.file:
            pool.Add(f)
        _SPB = message_factory.GetMessageClass(pool.FindMessageTypeByName("millpond.sparkplug.Payload"))
    return _SPB


# Sparkplug datatypes
INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64 = 1, 2, 3, 4, 5, 6, 7, 8
FLOAT, DOUBLE, BOOLEAN, STRING, DATETIME = 9, 10, 11, 12, 13


def set_value(m, datatype, value):
    """Puts `value` in the carrier Sparkplug uses for `datatype` (signed ints as two's complement)."""
    if value is None:
        m.is_null = True
    elif datatype in (INT8, INT16, INT32):
        bits = {INT8: 8, INT16: 16, INT32: 32}[datatype]
        m.int_value = value & ((1 << bits) - 1)
    elif datatype in (UINT8, UINT16, UINT32):
        m.int_value = value
    elif datatype in (INT64,):
        m.long_value = value & 0xFFFFFFFFFFFFFFFF
    elif datatype in (UINT64, DATETIME):
        m.long_value = value
    elif datatype == FLOAT:
        m.float_value = value
    elif datatype == DOUBLE:
        m.double_value = value
    elif datatype == BOOLEAN:
        m.boolean_value = value
    elif datatype == STRING:
        m.string_value = value
    else:
        raise ValueError(datatype)


class EdgeNode:
    """A Sparkplug edge node with devices: births with aliases, data by alias, deaths, its own
    seq counter and bdSeq, and a NDEATH will. Answers NCMD rebirth requests when `listen`."""

    def __init__(self, broker, group, node, devices, listen=True):
        self.group, self.node = group, node
        self.devices = devices  # name -> [(metric name, datatype), ...]
        self.seq = 0
        self.bd_seq = 0
        self.rebirths = 0
        self.aliases = {}  # (device, metric) -> alias
        alias = 1
        for d, metrics in sorted(devices.items()):
            for name, _ in metrics:
                self.aliases[(d, name)] = alias
                alias += 1
        self.broker = broker
        self.pub = None
        self.listen = listen
        self.lock = threading.Lock()

    def topic(self, kind, device=None):
        t = "spBv1.0/%s/%s/%s" % (self.group, kind, self.node)
        return t + "/" + device if device else t

    def _death_payload(self):
        p = spb()()
        m = p.metrics.add()
        m.name, m.datatype, m.long_value = "bdSeq", INT64, self.bd_seq
        return p.SerializeToString()

    def connect(self):
        self.pub = Publisher(self.broker, client_id="edge-%s-%s" % (self.group, self.node),
                             will=(self.topic("NDEATH"), self._death_payload(), 1, False))
        if self.listen:
            self.pub.client.message_callback_add(self.topic("NCMD"), self._on_cmd)
            self.pub.subscribe(self.topic("NCMD"))
        self.birth()
        return self

    def _on_cmd(self, client, userdata, msg):
        p = spb().FromString(msg.payload)
        for m in p.metrics:
            if m.name == "Node Control/Rebirth" and m.boolean_value:
                self.rebirths += 1
                threading.Thread(target=self.birth, daemon=True).start()

    def next_seq(self):
        s = self.seq
        self.seq = (self.seq + 1) % 256
        return s

    def birth(self, values=None):
        with self.lock:
            self.seq = 0
            p = spb()()
            p.timestamp = int(time.time() * 1000)
            p.seq = self.next_seq()
            m = p.metrics.add()
            m.name, m.datatype, m.long_value = "bdSeq", INT64, self.bd_seq
            self.pub.publish(self.topic("NBIRTH"), p.SerializeToString(), wait=False)
            for d, metrics in sorted(self.devices.items()):
                p = spb()()
                p.timestamp = int(time.time() * 1000)
                p.seq = self.next_seq()
                for name, dt in metrics:
                    m = p.metrics.add()
                    m.name, m.alias, m.datatype = name, self.aliases[(d, name)], dt
                    set_value(m, dt, (values or {}).get((d, name), 0 if dt != STRING else ""))
                    if dt in (FLOAT, DOUBLE):
                        pr = m.properties
                        pr.keys.append("engUnit")
                        pr.values.add().string_value = "degC"
                self.pub.publish(self.topic("DBIRTH", d), p.SerializeToString(), wait=False)

    def data(self, device, values, ts=None, seq=None, alias=None):
        """DDATA by alias: values = {metric name: value}."""
        with self.lock:
            p = spb()()
            p.timestamp = ts or int(time.time() * 1000)
            p.seq = self.next_seq() if seq is None else seq
            dts = dict(self.devices[device])
            for name, v in values.items():
                m = p.metrics.add()
                m.alias = alias if alias is not None else self.aliases[(device, name)]
                m.timestamp = p.timestamp
                set_value(m, dts[name], v)
                pr = m.properties
                pr.keys.append("Quality")
                pr.values.add().int_value = 192
            return self.pub.publish(self.topic("DDATA", device), p.SerializeToString())

    def device_death(self, device):
        with self.lock:
            p = spb()()
            p.timestamp = int(time.time() * 1000)
            p.seq = self.next_seq()
            self.pub.publish(self.topic("DDEATH", device), p.SerializeToString())

    def crash(self):
        """Connection lost without DISCONNECT: the broker publishes the NDEATH will."""
        self.pub.drop()
        self.bd_seq += 1

    def close(self):
        if self.pub:
            self.pub.close()


# --- running the ingester ----------------------------------------------------------------------

def ingest_cmd(warehouse, broker, table, *args):
    return [mpcli.BIN, "-w", str(warehouse), "ingest", "mqtt", "--broker", broker.url,
            "--table", table, *[str(a) for a in args]]


def start_ingest(warehouse, broker, table, *args, log=None):
    """Starts `millpond ingest mqtt` in the background; returns the Popen."""
    if log:
        with open(log, "ab") as out:
            return subprocess.Popen(ingest_cmd(warehouse, broker, table, *args), stdout=out,
                                    stderr=subprocess.STDOUT)
    return subprocess.Popen(ingest_cmd(warehouse, broker, table, *args), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def run_ingest(warehouse, broker, table, *args, timeout=120):
    """Runs the ingester to completion (give it --until-idle); returns mpcli.Result."""
    p = subprocess.run(ingest_cmd(warehouse, broker, table, *args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    return mpcli.Result(p)


def wait_subscribed(broker, client_id, topic, proc=None, timeout=30):
    """Waits until the broker logged that `client_id` subscribed to `topic` (the ingester is
    ready: from now on the broker keeps its messages)."""
    log = broker.dir / "mosquitto.log"
    want = "%s 1 %s" % (client_id, topic)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if log.exists() and want in log.read_text(errors="replace"):
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError("the ingester exited (%d) before subscribing: %s" %
                                 (proc.returncode, proc.stderr.read().decode() if proc.stderr else ""))
        time.sleep(0.05)
    raise AssertionError("%s never subscribed to %s" % (client_id, topic))


def kill(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
