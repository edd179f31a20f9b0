"""A member's rights over their data, across every domain that keeps some: the export (access,
portability) and the erasure. Above the domains it reads and clears (members, ledger,
purchases, rewards, surveys, comms), so that none of those has to import the others back."""
