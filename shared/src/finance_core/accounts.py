"""Chart of accounts: account types, the parent/child tree, and signed roll-ups up the tree."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from finance_core.identifiers import identifier_problem
from finance_core.untrusted import quoted


class AccountType(StrEnum):
    """What an account measures; decides roll-up sign and variance favourability."""

    REVENUE = "revenue"
    COGS = "cogs"
    OPEX = "opex"
    OTHER_INCOME = "other_income"
    OTHER_EXPENSE = "other_expense"
    TAX = "tax"
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"


# Accounts whose growth improves profit (or net worth); an overrun of these is favourable.
CREDIT_NATURE = frozenset({AccountType.REVENUE, AccountType.OTHER_INCOME})
EXPENSE_NATURE = frozenset({AccountType.COGS, AccountType.OPEX, AccountType.OTHER_EXPENSE, AccountType.TAX})
PROFIT_AND_LOSS = CREDIT_NATURE | EXPENSE_NATURE
BALANCE_SHEET = frozenset({AccountType.ASSET, AccountType.LIABILITY, AccountType.EQUITY})


def higher_is_favourable(account_type: AccountType) -> bool:
    """True when more of this account is good news (revenue, other income, assets, equity)."""
    return account_type in CREDIT_NATURE or account_type in {AccountType.ASSET, AccountType.EQUITY}


def profit_sign(account_type: AccountType) -> int:
    """+1 if the account adds to profit, -1 if it reduces it, 0 for balance-sheet accounts.

    Amounts are stored as positive natural balances (revenue 100 means 100 earned, opex 40 means
    40 spent), so net income = sum(sign * amount) over P&L accounts.
    """
    if account_type in CREDIT_NATURE:
        return 1
    if account_type in EXPENSE_NATURE:
        return -1
    return 0


class ChartError(ValueError):
    """The chart of accounts is inconsistent (unknown parent, cycle, mixed sign family)."""


@dataclass(frozen=True)
class Account:
    """One account of the chart: id, readable name, type, optional parent account id."""

    account_id: str
    name: str
    type: AccountType
    parent_id: str | None = None
    tags: frozenset[str] = frozenset()
    """Labels metric definitions select accounts by (`tagged("cash")`), e.g. cash, receivable, recurring."""


class ChartOfAccounts:
    """An org's validated account tree; roll-ups follow the sign rules of each child's type."""

    def __init__(self, accounts: Iterable[Account]):
        self._accounts: dict[str, Account] = {}
        for account in accounts:
            problem = identifier_problem(account.account_id, "account_id")
            if problem:
                raise ChartError(problem)
            if account.account_id in self._accounts:
                raise ChartError(f"account {account.account_id!r} is defined twice")
            self._accounts[account.account_id] = account
        self._children: dict[str, list[str]] = {}
        for account in self._accounts.values():
            if account.parent_id is None:
                continue
            if account.parent_id not in self._accounts:
                raise ChartError(f"account {account.account_id!r} has unknown parent {account.parent_id!r}")
            self._children.setdefault(account.parent_id, []).append(account.account_id)
        self._ancestors = {account_id: self._walk_up(account_id) for account_id in self._accounts}
        # Check every edge's sign now: a balance-sheet account under a P&L parent (or the reverse)
        # must be refused when the chart is loaded, not at the first roll-up of a record.
        for account in self._accounts.values():
            if account.parent_id is not None:
                self.rollup_sign(account.account_id, account.parent_id)

    @classmethod
    def from_documents(cls, documents: Mapping[str, Mapping[str, object]]) -> ChartOfAccounts:
        """Build from `{account_id: {name, type, parent_id}}` as stored in Firestore."""
        accounts = []
        for account_id, doc in documents.items():
            try:
                account_type = AccountType(str(doc.get("type")))
            except ValueError:
                raise ChartError(
                    f"account {quoted(account_id)} has type {quoted(doc.get('type'))}; expected one of "
                    + ", ".join(t.value for t in AccountType)
                ) from None
            parent = doc.get("parent_id") or None
            tags = doc.get("tags") or ()
            if not isinstance(tags, (list, tuple)) or not all(isinstance(t, str) for t in tags):
                raise ChartError(
                    f'account {quoted(account_id)} has tags {quoted(tags)}; expected a list of words, e.g. ["cash"]'
                )
            accounts.append(
                Account(
                    account_id,
                    str(doc.get("name", account_id)),
                    account_type,
                    None if parent is None else str(parent),
                    frozenset(tags),
                )
            )
        return cls(accounts)

    def _walk_up(self, account_id: str) -> tuple[str, ...]:
        chain: list[str] = []
        seen = {account_id}
        parent = self._accounts[account_id].parent_id
        while parent is not None:
            if parent in seen:
                cycle = " -> ".join([account_id, *chain, parent])
                raise ChartError(f"the account tree has a cycle: {cycle}")
            seen.add(parent)
            chain.append(parent)
            parent = self._accounts[parent].parent_id
        return tuple(chain)

    def __contains__(self, account_id: object) -> bool:
        return account_id in self._accounts

    def __iter__(self):
        return iter(self._accounts.values())

    def __len__(self) -> int:
        return len(self._accounts)

    def get(self, account_id: str) -> Account:
        """The account, or KeyError with the id."""
        return self._accounts[account_id]

    def type_of(self, account_id: str) -> AccountType:
        """Type of the account."""
        return self._accounts[account_id].type

    def ancestors(self, account_id: str) -> tuple[str, ...]:
        """Parent, grandparent, ... up to the root."""
        return self._ancestors[account_id]

    def children(self, account_id: str) -> tuple[str, ...]:
        """Direct children of an account."""
        return tuple(self._children.get(account_id, ()))

    def is_leaf(self, account_id: str) -> bool:
        """True if the account has no children (records post to leaves)."""
        return account_id not in self._children

    def rollup_sign(self, child_id: str, parent_id: str) -> int:
        """Sign with which the child's amount enters the parent's total.

        A parent of the same sign family sums its children as they are (an opex group sums its
        expenses). A parent of another family nets them by profit sign, so a 'Gross profit' group
        holding revenue and cogs shows revenue - cogs.
        """
        child_type, parent_type = self.type_of(child_id), self.type_of(parent_id)
        if child_type == parent_type or profit_sign(child_type) == profit_sign(parent_type):
            return 1
        child_sign, parent_sign = profit_sign(child_type), profit_sign(parent_type)
        if child_sign == 0 or parent_sign == 0:
            raise ChartError(
                f"account {child_id!r} ({child_type}) cannot roll up into {parent_id!r} ({parent_type}):"
                " balance-sheet and P&L accounts do not mix"
            )
        return child_sign * parent_sign

    def rollup_deltas(self, account_deltas: Mapping[str, int]) -> dict[str, int]:
        """Changes of every ancestor total caused by changes of the given accounts.

        Each ancestor receives the child's change times the product of the roll-up signs on the
        path, so a parent always equals the signed sum of its children.
        """
        result: dict[str, int] = {}
        for account_id, delta in account_deltas.items():
            if delta == 0:
                continue
            sign = 1
            child = account_id
            for parent in self._ancestors[account_id]:
                sign *= self.rollup_sign(child, parent)
                result[parent] = result.get(parent, 0) + sign * delta
                child = parent
        return {k: v for k, v in result.items() if v != 0}

    def rollups(self, account_totals: Mapping[str, int]) -> dict[str, int]:
        """Totals of every parent account from the totals of the accounts below it."""
        return self.rollup_deltas(account_totals)
