"""Incremental JSON-prefix validation: a character-level state machine over the JSON grammar
(objects, arrays, strings with escapes, numbers, literals, whitespace). The top level must be an
object, as `response_format: json_object` asks."""

from __future__ import annotations

_WS = " \t\n\r"
_DIGITS = "0123456789"
_HEX = "0123456789abcdefABCDEF"
_ESCAPES = '"\\/bfnrt'
_LITERALS = {"t": "rue", "f": "alse", "n": "ull"}

# Modes of the state machine.
_TOP, _VALUE, _ARR_FIRST, _KEY_FIRST, _KEY, _COLON, _AFTER = range(7)
_STR, _ESC, _UNI, _LIT = range(7, 11)
_MINUS, _ZERO, _INT, _DOT, _FRAC, _E, _ESIGN, _EXP = range(11, 19)


class JsonPrefix:
    """Whether text read so far is a prefix of one JSON object (the top level must be `{`)."""

    __slots__ = ("key", "mode", "rest", "stack")

    def __init__(self) -> None:
        self.stack = ""  # open containers, "{" or "["
        self.mode = _TOP
        self.key = False  # the string being read is an object key
        self.rest = ""  # letters still due in a literal, or hex digits count in \uXXXX

    def copy(self) -> JsonPrefix:
        new = JsonPrefix.__new__(JsonPrefix)
        new.stack, new.mode, new.key, new.rest = self.stack, self.mode, self.key, self.rest
        return new

    @property
    def complete(self) -> bool:
        return self.mode == _AFTER and not self.stack

    def accepts(self, text: str) -> bool:
        """Would `text` keep the prefix valid? (The state is left unchanged.)"""
        return self.copy().feed(text)

    def feed(self, text: str) -> bool:
        """Read `text`; False (state then undefined) as soon as it stops being a valid prefix."""
        return all(self._char(c) for c in text)

    def _char(self, c: str) -> bool:
        mode = self.mode
        if mode == _STR:
            if c == '"':
                self.mode = _COLON if self.key else _AFTER
            elif c == "\\":
                self.mode = _ESC
            elif c < " ":  # raw control characters must be escaped
                return False
            return True
        if mode == _ESC:
            if c == "u":
                self.mode, self.rest = _UNI, "xxxx"
                return True
            self.mode = _STR
            return c in _ESCAPES
        if mode == _UNI:
            self.rest = self.rest[1:]
            if not self.rest:
                self.mode = _STR
            return c in _HEX
        if mode == _LIT:
            if c != self.rest[0]:
                return False
            self.rest = self.rest[1:]
            if not self.rest:
                self.mode = _AFTER
            return True
        if mode >= _MINUS:
            return self._number(c)
        if c in _WS:
            return True
        if mode == _TOP:
            return self._open(c) if c == "{" else False
        if mode in (_VALUE, _ARR_FIRST):
            if mode == _ARR_FIRST and c == "]":
                return self._close(c)
            return self._value(c)
        if mode in (_KEY, _KEY_FIRST):
            if mode == _KEY_FIRST and c == "}":
                return self._close(c)
            if c == '"':
                self.mode, self.key = _STR, True
                return True
            return False
        if mode == _COLON:
            self.mode = _VALUE
            return c == ":"
        # _AFTER: a value just ended inside a container (or the whole object ended)
        if not self.stack:
            return False
        if c == ",":
            self.mode = _KEY if self.stack[-1] == "{" else _VALUE
            return True
        return self._close(c)

    def _open(self, c: str) -> bool:
        self.stack += c
        self.mode = _KEY_FIRST if c == "{" else _ARR_FIRST
        return True

    def _close(self, c: str) -> bool:
        if not self.stack or c != ("}" if self.stack[-1] == "{" else "]"):
            return False
        self.stack, self.mode = self.stack[:-1], _AFTER
        return True

    def _value(self, c: str) -> bool:
        if c in "{[":
            return self._open(c)
        if c == '"':
            self.mode, self.key = _STR, False
        elif c in _LITERALS:
            self.mode, self.rest = _LIT, _LITERALS[c]
        elif c == "-":
            self.mode = _MINUS
        elif c in _DIGITS:
            self.mode = _ZERO if c == "0" else _INT
        else:
            return False
        return True

    def _number(self, c: str) -> bool:
        mode, digit = self.mode, c in _DIGITS
        if mode in (_MINUS, _DOT, _ESIGN) or (mode == _E and c not in "+-"):
            nxt = {_MINUS: _ZERO if c == "0" else _INT, _DOT: _FRAC, _ESIGN: _EXP, _E: _EXP}
            self.mode = nxt[mode]
            return digit
        if mode == _E:
            self.mode = _ESIGN
            return True
        if digit and mode != _ZERO:
            return True  # more of INT, FRAC or EXP
        if c == "." and mode in (_ZERO, _INT):
            self.mode = _DOT
            return True
        if c in "eE" and mode in (_ZERO, _INT, _FRAC):
            self.mode = _E
            return True
        # The number ended: the character must be valid after a value.
        self.mode = _AFTER
        return self._char(c)

    def closing(self) -> str:
        """The shortest text that completes the object from here."""
        state, out = self.copy(), ""
        while not state.complete:
            c = state._next_closing_char()
            state._char(c)
            out += c
        return out

    def _next_closing_char(self) -> str:
        mode = self.mode
        if mode == _TOP:
            return "{"
        if mode in (_STR, _KEY):
            return '"'
        if mode == _ESC:
            return "n"
        if mode == _LIT:
            return self.rest[0]
        if mode in (_UNI, _VALUE, _MINUS, _DOT, _E, _ESIGN):
            return "0"
        if mode == _COLON:
            return ":"
        return "}" if self.stack[-1] == "{" else "]"  # _AFTER, _KEY_FIRST, _ARR_FIRST, numbers
