"""Users and roles in the configuration area: an organization's admins add members (inviting
new users by email), change roles, deactivate a member (handing their accounts and open
playbooks to someone chosen) and reactivate them, and send password resets."""
