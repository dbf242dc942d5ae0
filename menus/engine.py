"""The USSD state machine: `start`, `step` and `resume`, pure functions.

The caller (the web layer) owns IO. It passes in the compiled menu, the session
state (a small JSON-able dict), the user's input for this hop, and a `Context`
whose `items` callback supplies list screens. The engine answers a `Turn`: the
page to show, whether the session ends, the new state, and at most one action
to carry out. When a turn carries an action, the caller runs it and calls
`resume` with the action's outcome to get the next page.

State keys: `menu`, `ver` (the pinned version), `scr` (current screen), `pg`
(page), `vals` (collected values; `vals["lang"]` is the language), `hist`
(screens to go back to), `opts` (first index and count of the options the
current page shows) and `shown` (the items of a list page), so a number always
maps to what the user saw, and `end` (session over).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from menus import gsm7, texts
from menus.model import Menu, Screen
from menus.render import paginate

# Bound on automatic moves in one hop (empty list → next, action → action),
# so a definition mistake can never spin a request.
MAX_CHAIN = 20


class EngineError(RuntimeError):
    """The menu or the caller broke the contract (e.g. an action outcome the
    screen does not route). The web layer turns it into a polite END."""


@dataclass(frozen=True)
class Item:
    """One entry of a list screen: `id` is stored, `label` is shown, `values`
    are copied into the session as `<field>_<key>`."""

    id: str
    label: str
    values: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ActionCall:
    """An action the caller must run: the registered handler `name` with the
    session's collected `values`, on behalf of screen `screen`."""

    name: str
    values: dict
    screen: str


@dataclass(frozen=True)
class Turn:
    """What one hop produced."""

    text: str
    end: bool
    state: dict
    action: ActionCall | None = None


def _no_items(source: str, values: dict, lang: str) -> Sequence[Item]:
    return ()


@dataclass(frozen=True)
class Context:
    """What the engine may ask of the outside: items for list screens."""

    items: Callable[[str, dict, str], Sequence[Item]] = _no_items


def start(menu: Menu, values: dict | None = None, ctx: Context = Context()) -> Turn:
    """A new session: enter the menu's start screen with initial `values`."""
    state = {"menu": menu.name, "ver": menu.version, "scr": None, "pg": 0,
             "vals": dict(values or {}), "hist": [], "shown": None, "end": False}
    state["vals"].setdefault("lang", menu.languages[0])
    return _enter(menu, state, menu.start, ctx, push=False)


def step(menu: Menu, state: dict, user_input: str, ctx: Context = Context()) -> Turn:
    """Apply one input to a copy of `state`; the given state is never changed."""
    state = _copy(state)
    if state.get("end"):
        return Turn(_lang_text(menu, menu.strings.get("ended", {}), state), True, state)
    screen = menu.screens[state["scr"]]
    raw = user_input.strip()
    nav = _navigate(menu, state, screen, raw, ctx)
    if nav is not None:
        return nav
    handler = _HANDLERS.get(screen.type)
    if handler is None:
        raise EngineError(f"screen {screen.id} takes no input")
    return handler(menu, state, screen, raw, ctx)


def redisplay(menu: Menu, state: dict, ctx: Context = Context()) -> Turn:
    """Show the current screen of `state` again (a session resumed after a drop)."""
    state = _copy(state)
    return _show(menu, state, menu.screens[state["scr"]], ctx, page=state.get("pg", 0))


def resume(menu: Menu, state: dict, outcome: str, values: dict | None = None,
           ctx: Context = Context(), _depth: int = 0) -> Turn:
    """Continue after the caller ran the action of the current action screen."""
    state = _copy(state)
    screen = menu.screens[state["scr"]]
    target = screen.outcomes.get(outcome)
    if screen.type != "action" or target is None:
        raise EngineError(f"screen {screen.id} has no route for outcome {outcome!r}")
    state["vals"].update(values or {})
    return _enter(menu, state, target, ctx, push=False, depth=_depth + 1)


def _copy(state: dict) -> dict:
    """A copy safe to change: only `vals` and `hist` are changed in place;
    everything else is replaced whole (and far cheaper than a deepcopy)."""
    return {**state, "vals": dict(state["vals"]), "hist": list(state["hist"])}


# -- navigation -------------------------------------------------------------

def _navigate(menu, state, screen, raw, ctx) -> Turn | None:
    """The navigation keys. On every screen a key is navigation only where
    it can be: `more` on screens with options, `back` exactly when the page
    shows the back line, `home` once home was visited. Anything else, a key
    included, is the screen's input (an input screen's validator judges it)."""
    keys = menu.keys
    if raw == keys["more"] and screen.type in ("menu", "list", "confirm"):
        return _show(menu, state, screen, ctx, page=state["pg"] + 1)
    if raw == keys["back"] and _shows_back(screen, state, state["pg"]):
        if state["pg"] > 0:
            return _show(menu, state, screen, ctx, page=state["pg"] - 1)
        return _enter(menu, state, state["hist"].pop(), ctx, push=False)
    if raw == keys["home"] and menu.home and (menu.home in state["hist"] or state["scr"] == menu.home):
        state["hist"] = []
        return _enter(menu, state, menu.home, ctx, push=False)
    return None


def _shows_back(screen: Screen, state: dict, page: int) -> bool:
    """Whether `page` shows the back line: the one rule for showing it and
    for obeying the back key, so `0` is never "back" unseen."""
    return screen.back and (page > 0 or bool(state["hist"]))


def _enter(menu: Menu, state: dict, sid: str, ctx: Context, *, push: bool, depth: int = 0,
           error: str | None = None) -> Turn:
    if depth > MAX_CHAIN:
        raise EngineError(f"more than {MAX_CHAIN} automatic moves; last screen {sid}")
    if sid not in menu.screens:
        raise EngineError(f"unknown screen {sid}")
    previous = state["scr"]
    # A screen's own `back: false` hides its back line; it can still be returned to.
    if push and previous is not None and menu.screens[previous].type not in ("action", "end"):
        state["hist"].append(previous)
    if state["hist"] and state["hist"][-1] == sid:
        state["hist"].pop()  # arrived where back would lead (a confirm's cancel): not twice
    state["scr"], state["pg"], state["shown"] = sid, 0, None
    if sid == menu.home:
        # The root: nothing before it is a place to go back to (not even the
        # screens of a journey an action completed, such as registration).
        state["hist"] = []
    screen = menu.screens[sid]
    if screen.type == "action":
        return Turn("", False, state, ActionCall(screen.action or "", dict(state["vals"]), sid))
    if screen.type == "list" and not ctx.items(screen.source or "", state["vals"], _lang(menu, state)):
        # Skipped (e.g. a product without grades): forget an earlier choice here.
        name = screen.field or screen.id
        for key in [k for k in state["vals"] if k == name or k.startswith(f"{name}_")]:
            del state["vals"][key]
        return _enter(menu, state, screen.empty or "", ctx, push=False, depth=depth + 1)
    return _show(menu, state, screen, ctx, page=0, error=error)


# -- rendering --------------------------------------------------------------

def _lang(menu: Menu, state: dict) -> str:
    lang = state["vals"].get("lang")
    return lang if lang in menu.languages else menu.languages[0]


def _lang_text(menu: Menu, text: dict, state: dict) -> str:
    lang = _lang(menu, state)
    template = text.get(lang) or text.get("*") or text.get(menu.languages[0], "")
    return texts.fill(template, state["vals"], menu.placeholders)


def _option_labels(menu, state, screen, ctx) -> tuple[list[str], list[Item] | None]:
    if screen.type == "menu":
        return [_lang_text(menu, o.label, state) for o in screen.options], None
    if screen.type == "confirm":
        return [_lang_text(menu, menu.strings.get(k, {}), state) for k in ("yes", "no")], None
    if screen.type == "list":
        items = list(ctx.items(screen.source or "", state["vals"], _lang(menu, state)))
        return [texts.format_value(i.label, "text") for i in items], items
    return [], None


def _show(menu, state, screen, ctx, *, page: int, error: str | None = None) -> Turn:
    """Render `page` of `screen`, with the `error` string's line above it.

    The pages are cut the same way whatever is shown: every page keeps room
    for the screen's longest error line and for the back line, so a wrong
    answer or a first page without history never moves an option (option 7
    stays option 7 on the page the user saw)."""
    labels, items = _option_labels(menu, state, screen, ctx)
    more = f"{menu.keys['more']}. {_lang_text(menu, menu.strings.get('more', {}), state)}"
    back = f"{menu.keys['back']}. {_lang_text(menu, menu.strings.get('back', {}), state)}" \
        if screen.back else None
    reserve = max((gsm7.length(_lang_text(menu, menu.strings.get(k, {}), state)) + 1
                   for k in screen.error_keys()), default=0)
    pages = paginate(_lang_text(menu, screen.text, state), labels, limit=menu.limit, more=more,
                     back=back, max_options=menu.max_options, reserve=reserve)
    page = min(max(page, 0), len(pages) - 1)  # a "more" past the end, or a list that shrank
    state["pg"] = page
    state.pop("err", None)  # sessions saved before pages kept room for errors
    current = pages[page]
    text = current.text
    if back and not _shows_back(screen, state, page):
        text = text[: -len(back)].rstrip("\n")  # room kept, line not shown
    if error:
        text = f"{_lang_text(menu, menu.strings.get(error, {}), state)}\n{text}"
    # Remember what this page offered, so the next input maps to what was seen.
    state["opts"] = [current.first, current.count]
    if items is not None:
        state["shown"] = [[i.id, i.label, i.values] for i in items[current.first:current.first + current.count]]
    if screen.type == "end":
        state["end"] = True
    return Turn(text, screen.type == "end", state)


# -- input handlers ---------------------------------------------------------

def _chosen(menu, state, raw, count: int) -> int | None:
    """The 0-based index on the current page the user chose, or None."""
    if raw.isdecimal() and 1 <= int(raw) <= count:
        return int(raw) - 1
    return None


def _on_menu(menu, state, screen, raw, ctx) -> Turn:
    first, count = state.get("opts") or (0, 0)
    index = _chosen(menu, state, raw, count)
    if index is None:
        return _show(menu, state, screen, ctx, page=state["pg"], error="invalid")
    option = screen.options[first + index]
    state["vals"].update(option.set)
    return _enter(menu, state, option.next, ctx, push=True)


def _on_list(menu, state, screen, raw, ctx) -> Turn:
    shown = state.get("shown") or []
    index = _chosen(menu, state, raw, len(shown))
    if index is None:
        return _show(menu, state, screen, ctx, page=state["pg"], error="invalid")
    item_id, label, values = shown[index]
    name = screen.field or screen.id
    state["vals"][name] = item_id
    state["vals"][f"{name}_label"] = label
    for key, value in (values or {}).items():
        state["vals"][f"{name}_{key}"] = value
    return _enter(menu, state, screen.next or "", ctx, push=True)


def _on_input(menu, state, screen, raw, ctx) -> Turn:
    value, error = screen.validator(raw) if screen.validator else (raw, None)
    if error:
        return _show(menu, state, screen, ctx, page=state["pg"], error=error)
    state["vals"][screen.field or screen.id] = value
    return _enter(menu, state, screen.next or "", ctx, push=True)


def _on_confirm(menu, state, screen, raw, ctx) -> Turn:
    # Yes and no are options 0 and 1, numbered as the current page showed them.
    first, count = state.get("opts") or (0, 2)
    index = _chosen(menu, state, raw, count)
    if index is None:
        return _show(menu, state, screen, ctx, page=state["pg"], error="invalid")
    if first + index == 0:
        return _enter(menu, state, screen.next or "", ctx, push=True)
    return _enter(menu, state, screen.cancel or "", ctx, push=False)


_HANDLERS = {"menu": _on_menu, "list": _on_list, "input": _on_input, "confirm": _on_confirm}
