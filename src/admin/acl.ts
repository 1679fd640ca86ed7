/**
 * ACL names and checks. The default policy is Saxml's open-source behaviour: "" is the only ACL that can
 * be set, `acl/...` names are well-formed but unsupported (UNIMPLEMENTED), and every check passes because
 * plaintext gRPC carries no principal.
 */
import { InvalidArgumentError, SaxError } from "../common/errors.js";

/** The prefix every ACL name must start with. */
export const ACL_PREFIX = "acl/";

/** Validates ACL names and authorises callers. */
export interface AclPolicy {
  /** Throws INVALID_ARGUMENT for a malformed name, UNIMPLEMENTED for one the policy cannot enforce. */
  validateName(name: string): void;
  /** Throws PERMISSION_DENIED unless `principal` passes `acl`. */
  check(principal: string | undefined, acl: string, what: string): void;
}

/** Saxml's open-source policy. */
export const ossAclPolicy: AclPolicy = {
  validateName(name) {
    if (name === "") return;
    if (!name.startsWith(ACL_PREFIX)) {
      throw new InvalidArgumentError(
        `${JSON.stringify(name)} is not a valid ACL name (must start with one of [${ACL_PREFIX}])`,
      );
    }
    throw new SaxError("UNIMPLEMENTED", `ACL check is not supported: cannot set ACL ${JSON.stringify(name)}`);
  },
  check() {
    // No principal reaches us over plaintext gRPC: every caller passes, as in Saxml's open-source build.
  },
};
