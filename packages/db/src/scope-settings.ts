/**
 * The transaction-local settings that carry the request's scope into PostgreSQL, where the
 * `app.current_org_id()` / `app.current_user_id()` functions and the RLS policies read them.
 * Writers (tenant transactions) and readers (those functions) both take the names from here.
 */
export const ORG_ID_SETTING = 'app.org_id';
export const USER_ID_SETTING = 'app.user_id';
