"""The UI-independent workflow core: pure logic and ports, no Textual and no device libraries."""
