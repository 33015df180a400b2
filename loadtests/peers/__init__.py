"""Services a user might write instead of ferry, served side by side for comparison."""
