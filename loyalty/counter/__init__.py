"""The counter page (`/counter/`): what a store clerk does for a member at the till. Views
parse, call one service, render; the rules are in the services they call."""
