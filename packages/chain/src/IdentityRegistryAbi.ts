/**
 * The part of the ERC-8004 IdentityRegistry ABI the registrar uses, written from the ERC text
 * (`register` overloads, `setAgentURI`, ERC-721 `ownerOf`/`tokenURI`, `getVersion`, and the
 * `Registered`/`URIUpdated` events), plus `isAuthorizedOrOwner(spender, agentId)`, which the ERC
 * text does not name but the reference deployments and our contract expose (owner, approved or
 * operator; reverts for an unknown agent). Selectors and encodings are derived from it by viem, never
 * hand-rolled (the old monetize.py hard-coded a wrong `setMetadata` selector). A unit test holds
 * it to the ABI compiled from our registry contract.
 *
 * @since 0.1.0
 */

/**
 * @category constants
 */
export const identityRegistryAbi = [
  {
    type: "function",
    name: "register",
    stateMutability: "nonpayable",
    inputs: [{ name: "agentURI", type: "string" }],
    outputs: [{ name: "agentId", type: "uint256" }]
  },
  {
    type: "function",
    name: "setAgentURI",
    stateMutability: "nonpayable",
    inputs: [
      { name: "agentId", type: "uint256" },
      { name: "newURI", type: "string" }
    ],
    outputs: []
  },
  {
    type: "function",
    name: "tokenURI",
    stateMutability: "view",
    inputs: [{ name: "tokenId", type: "uint256" }],
    outputs: [{ name: "", type: "string" }]
  },
  {
    type: "function",
    name: "ownerOf",
    stateMutability: "view",
    inputs: [{ name: "tokenId", type: "uint256" }],
    outputs: [{ name: "", type: "address" }]
  },
  {
    type: "function",
    name: "isAuthorizedOrOwner",
    stateMutability: "view",
    inputs: [
      { name: "spender", type: "address" },
      { name: "agentId", type: "uint256" }
    ],
    outputs: [{ name: "", type: "bool" }]
  },
  {
    type: "function",
    name: "getVersion",
    stateMutability: "pure",
    inputs: [],
    outputs: [{ name: "", type: "string" }]
  },
  {
    type: "event",
    name: "Registered",
    anonymous: false,
    inputs: [
      { name: "agentId", type: "uint256", indexed: true },
      { name: "agentURI", type: "string", indexed: false },
      { name: "owner", type: "address", indexed: true }
    ]
  },
  {
    type: "event",
    name: "URIUpdated",
    anonymous: false,
    inputs: [
      { name: "agentId", type: "uint256", indexed: true },
      { name: "newURI", type: "string", indexed: false },
      { name: "updatedBy", type: "address", indexed: true }
    ]
  }
] as const
