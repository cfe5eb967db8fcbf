"""The team's projections as units: reopening and waiting rules, snooze wake-ups that
lost a race, round-robin picks that came too late, notifications; the pure helpers;
and, for random sequences of team actions interleaved with messages, live projections
equal to replayed ones."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.events import NewEvent
from crm.events.agents import AgentCreated, AgentDisabled, agent_stream
from crm.events.messages import chat_stream
from crm.events.team import (
    LABELS_STREAM,
    QUICK_REPLIES_STREAM,
    ChatAssigned,
    ChatLabelsChanged,
    ChatStatusChanged,
    LabelCreated,
    LabelUpdated,
    NoteAdded,
    NotificationsRead,
    QuickReplyDeleted,
    QuickReplySaved,
)
from crm.projections import default_projector, notifications, workflow
from crm.projections.replay import check, rebuild
from crm.projections.team_view import ChatFilter, Scope, counts, list_team_chats
from crm.team.assigner import choose
from crm.team.mentions import mentions
from crm.team.placeholders import expand
from tests.factories import BASE_TIME, queued, read, received
from tests.test_event_store import open_store

PHONE = "85291234567"


def status(value: str, phone: str = PHONE, until: str | None = None, woke: int | None = None,
           actor: str = "agent:ana") -> NewEvent:
    return ChatStatusChanged(phone=phone, status=value, until=until, woke=woke).new(  # type: ignore[arg-type]
        chat_stream(phone), actor=actor)


def assigned(agent: str | None, phone: str = PHONE, by: str = "manual",
             actor: str = "agent:ana") -> NewEvent:
    return ChatAssigned(phone=phone, agent=agent, by=by).new(  # type: ignore[arg-type]
        chat_stream(phone), actor=actor)


def agent(name: str) -> NewEvent:
    return AgentCreated(name=name, password_hash="x").new(agent_stream(name))


def test_inbound_reopens_but_reactions_and_notes_do_not(tmp_path: Path) -> None:
    store = open_store(tmp_path / "crm.db")
    store.record([received(text="hi", wamid="w1"), assigned("bob"), status("resolved")])
    state = workflow.state(store.conn, PHONE)
    assert state["status"] == "resolved" and state["waiting_since"] is None
    store.record([received(kind="reaction", wamid="w2",
                           reaction={"message_id": "w1", "emoji": "👍"})])
    store.record([NoteAdded(note_id="n1", phone=PHONE, text="x", agent="ana").new(
        chat_stream(PHONE))])
    assert workflow.state(store.conn, PHONE)["status"] == "resolved"
    later = BASE_TIME + timedelta(hours=1)
    store.record([received(text="again", wamid="w3", at=later)])
    state = workflow.state(store.conn, PHONE)
    assert state["status"] == "open" and state["assignee"] == "bob"
    assert state["waiting_since"] == "2026-11-24T10:00:00Z"
    store.record([queued("m1")])
    assert workflow.state(store.conn, PHONE)["waiting_since"] is None


def test_a_wake_up_for_an_older_snooze_changes_nothing(tmp_path: Path) -> None:
    store = open_store(tmp_path / "crm.db")
    store.record([received(wamid="w1")])
    [first] = store.record([status("snoozed", until="2026-11-25T09:00:00Z")])
    [second] = store.record([status("snoozed", until="2026-11-26T09:00:00Z")])
    assert workflow.due_snoozes(store.conn, 1e12) == [(PHONE, second)]
    store.record([status("open", woke=first, actor="system")])
    assert workflow.state(store.conn, PHONE)["status"] == "snoozed"
    store.record([status("open", woke=second, actor="system")])
    assert workflow.state(store.conn, PHONE)["status"] == "open"
    assert workflow.due_snoozes(store.conn, 1e12) == []


def test_a_round_robin_pick_never_overrides_a_person(tmp_path: Path) -> None:
    store = open_store(tmp_path / "crm.db")
    store.record([agent("ana"), agent("bob"), received(wamid="w1")])
    assert workflow.awaiting_assignment(store.conn, 0) == [(PHONE, 3)]
    store.record([assigned("ana")])
    store.record([assigned("bob", by="round_robin", actor="system")])
    assert workflow.state(store.conn, PHONE)["assignee"] == "ana"
    assert workflow.last_rotated(store.conn) is None
    bob = notifications.for_agent(store.conn, "bob")["notifications"]
    assert [n["kind"] for n in bob] == ["message"]  # the broadcast, not an assignment


def test_notifications_for_assignees_mentions_and_everyone(tmp_path: Path) -> None:
    store = open_store(tmp_path / "crm.db")
    store.record([agent("ana"), agent("bob"), received(wamid="w1", text="first")])
    store.record([assigned("bob")])
    store.record([received(wamid="w2", text="second")])
    store.record([NoteAdded(note_id="n1", phone=PHONE, text="@ana look", agent="bob",
                            mentions=["ana", "bob"]).new(chat_stream(PHONE),
                                                         actor="agent:bob")])
    ana = notifications.for_agent(store.conn, "ana")
    bob = notifications.for_agent(store.conn, "bob")
    assert [n["kind"] for n in ana["notifications"]] == ["mention", "message"]
    assert [n["kind"] for n in bob["notifications"]] == ["message", "assigned", "message"]
    store.record([NotificationsRead(agent="ana", ids=[ana["notifications"][1]["id"]]).new(
        agent_stream("ana"))])
    after = notifications.for_agent(store.conn, "ana")
    assert after["unread"] == 1 and notifications.for_agent(store.conn, "bob")["unread"] == 3


def test_filters_and_scope(tmp_path: Path) -> None:
    store = open_store(tmp_path / "crm.db")
    store.record([received("111", wamid="a"), received("222", wamid="b"),
                  received("333", wamid="c"), assigned("ana", "111"), assigned("bob", "222"),
                  status("pending", "333"), read("111")])
    scoped = Scope(agent="ana", restricted=True)

    def listed(chat_filter: ChatFilter, scope: Scope | None = None) -> list[str]:
        rows, _ = list_team_chats(store.conn, 50, None, None, chat_filter,
                                  scope or Scope(agent="ana"))
        return [r["phone"] for r in rows]

    assert listed(ChatFilter()) == ["333", "222", "111"]
    assert listed(ChatFilter(), scoped) == ["333", "111"]
    assert listed(ChatFilter(assignee="me")) == ["111"]
    assert listed(ChatFilter(assignee="none", statuses=("pending",))) == ["333"]
    assert listed(ChatFilter(unread=True, waiting=True)) == ["333", "222"]
    assert counts(store.conn, Scope(agent="ana")) == {
        "mine": 1, "unassigned": 0, "all": 2, "unread": 1, "pending": 1, "snoozed": 0,
        "resolved": 0}
    assert counts(store.conn, scoped)["all"] == 1


def test_helpers() -> None:
    assert expand("Hi {{name}}, {{ agent }} here ({{phone}}) {{other}}", name="Ana",
                  phone="852", agent="bob") == "Hi Ana, bob here (852) {{other}}"
    assert expand("Hi {{name}}", name=None, phone="852", agent="bob") == "Hi "
    assert mentions("@Bob and @ana. also @bob, not a@ana or @zed", ["ana", "bob"]) == [
        "bob", "ana"]
    assert choose([], None) is None
    assert choose(["carol", "bob"], None) == "bob"
    assert choose(["carol", "bob"], "bob") == "carol"
    assert choose(["carol", "bob"], "carol") == "bob"
    assert choose(["carol", "bob"], "dave") == "bob"


# -- live equals replay, for random team actions among messages ----------------------

phones = st.sampled_from(["111", "222"])
agents = st.sampled_from(["ana", "bob", None])


@st.composite
def team_sequences(draw):
    events: list[NewEvent] = [agent("ana"), agent("bob")]
    for n in range(draw(st.integers(1, 40))):
        phone = draw(phones)
        choice = draw(st.integers(0, 12))
        at = BASE_TIME + timedelta(minutes=draw(st.integers(0, 500)))
        if choice == 0:
            events.append(received(phone=phone, wamid=f"w{n}", at=at))
        elif choice == 1:
            events.append(received(phone=phone, kind="reaction", wamid=f"r{n}",
                                   reaction={"message_id": f"w{n - 1}", "emoji": "👍"}))
        elif choice == 2:
            events.append(queued(f"m{n}", phone))
        elif choice == 3:
            value = draw(st.sampled_from(["open", "pending", "resolved", "snoozed"]))
            events.append(status(value, phone, until="2026-12-01T09:00:00Z"
                                 if value == "snoozed" else None))
        elif choice == 4:
            events.append(status("open", phone, woke=draw(st.integers(1, 45)), actor="system"))
        elif choice == 5:
            events.append(assigned(draw(agents), phone, by=draw(st.sampled_from(
                ["manual", "round_robin", "reply"]))))
        elif choice == 6:
            events.append(NoteAdded(note_id=f"n{n}", phone=phone, text="@bob hi",
                                    agent=draw(st.sampled_from(["ana", "bob"])),
                                    mentions=["bob"]).new(chat_stream(phone)))
        elif choice == 7:
            events.append(LabelCreated(label_id=f"l{n % 3}", name=draw(st.sampled_from(
                ["VIP", "vip", "Refund"]))).new(LABELS_STREAM))
        elif choice == 8:
            events.append(LabelUpdated(label_id=f"l{draw(st.integers(0, 2))}", name=draw(
                st.sampled_from(["VIP", "Gold", None])), color="#00ff00").new(LABELS_STREAM))
        elif choice == 9:
            events.append(ChatLabelsChanged(phone=phone, add=[f"l{draw(st.integers(0, 2))}"],
                                            remove=[f"l{draw(st.integers(0, 2))}"]).new(
                chat_stream(phone)))
        elif choice == 10:
            reply = f"q{draw(st.integers(0, 2))}"
            events.append(QuickReplySaved(reply_id=reply, shortcut="p", text=f"t{n}").new(
                QUICK_REPLIES_STREAM) if draw(st.booleans()) else QuickReplyDeleted(
                reply_id=reply).new(QUICK_REPLIES_STREAM))
        elif choice == 11:
            events.append(NotificationsRead(agent=draw(st.sampled_from(["ana", "bob"])),
                                            ids=[draw(st.integers(1, 45))],
                                            upto=draw(st.none() | st.integers(1, 45))).new(
                agent_stream("ana")))
        else:
            events.append(read(phone) if draw(st.booleans()) else AgentDisabled(
                name="bob").new(agent_stream("bob")))
    splits = draw(st.lists(st.integers(1, 5), min_size=len(events), max_size=len(events)))
    return events, splits


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(team_sequences())
def test_team_projections_live_equal_replay(tmp_path_factory, sequence) -> None:
    events, splits = sequence
    db = tmp_path_factory.mktemp("team-prop") / "crm.db"
    store = open_store(db)
    i = 0
    for size in splits:
        if i >= len(events):
            break
        store.record(events[i:i + size])
        i += size
    failures = store.conn.execute("SELECT sum(failures) FROM checkpoints").fetchone()[0]
    store.close()
    assert failures == 0
    projector = default_projector()
    result = check(db, projector)
    assert result.identical, result.differences
    rebuild(db, projector)
    assert check(db, projector).identical
